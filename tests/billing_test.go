package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// billingEnv is catalyst dev on PostgreSQL and Redis (its own database and key prefix).
func billingEnv(t *testing.T) []string {
	t.Helper()
	client, prefix := testenv.Redis(t)
	return []string{"CATALYST_ADMIN_TOKEN=" + adminToken, "DATABASE_URL=" + testenv.Postgres(t),
		"REDIS_URL=redis://" + client.Options().Addr + "/" + strconv.Itoa(client.Options().DB), "CATALYST_REDIS_PREFIX=" + prefix}
}

// verifyReport is `catalyst billing verify -json`.
type verifyReport struct {
	Accounts         int      `json:"accounts"`
	Tenants          int      `json:"tenants"`
	OpenReservations int      `json:"open_reservations"`
	Problems         []string `json:"problems"`
}

// billingVerify runs `catalyst billing verify` against env's stores and fails the
// test unless it is clean.
func billingVerify(t *testing.T, env []string) verifyReport {
	t.Helper()
	cmd := exec.Command(binary, "billing", "verify", "-json")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	var rep verifyReport
	if jerr := json.Unmarshal(out, &rep); jerr != nil {
		t.Fatalf("catalyst billing verify: %v %v: %s", err, jerr, out)
	}
	if err != nil || len(rep.Problems) > 0 {
		t.Fatalf("catalyst billing verify: %v: %+v", err, rep)
	}
	return rep
}

type balanceView struct {
	Amount, Blocked, Available string
}

func balanceOf(t *testing.T, api, tenantID string) balanceView {
	t.Helper()
	var b balanceView
	if status, body := call(t, "GET", api+"/api/v2/balances/"+tenantID, adminToken, nil, nil, &b); status != http.StatusOK {
		t.Fatalf("balance: %d %s", status, body)
	}
	return b
}

// A message.delivered posted straight to the broker ingress, twice, for a message
// billing already settled, charges nothing more: the settle step answers the replay
// with the first commit (same event id) and the balance moves once.
func TestDuplicateDeliveryThroughTheIngressChargesOnce(t *testing.T) {
	t.Parallel()
	env := billingEnv(t)
	committed := testenv.NewSink(t, nil)
	extra := writeManifest(t, trigger("committed", "  filters:\n    - exact: {type: io.catalyst.billing.committed}", committed.URL, ""))
	p := startDev(t, env, "-f", extra)
	acme := createTenant(t, p.APIURL, "acme")
	topUp(t, p.APIURL, acme.TenantID, "1", "inv-1")
	var sent struct {
		MessageID string `json:"message_id"`
	}
	if status, body := call(t, "POST", p.APIURL+"/api/v1/sms/send", acme.APIKey,
		map[string]any{"to": "+447911123456", "message": "charge me once"}, nil, &sent); status != http.StatusAccepted {
		t.Fatalf("send: %d %s", status, body)
	}
	testenv.WaitFor(t, "the delivery committed", func() bool { return len(committed.Received()) == 1 })
	if b := balanceOf(t, p.APIURL, acme.TenantID); b.Available != "0.985" || b.Blocked != "0" {
		t.Fatalf("after delivery: %+v, want 0.985 available", b)
	}
	ref := catalog.MessageRef{MessageID: sent.MessageID, TenantID: acme.TenantID, Channel: "sms"}
	for i := range 2 {
		dup, err := catalog.New(catalog.MessageDeliveredType, "/attacker", catalog.MessageDelivered{MessageRef: ref, ProviderMessageID: "dup"},
			map[string]string{"tenantid": acme.TenantID, "channel": "sms", "messageid": sent.MessageID, "partitionkey": sent.MessageID})
		if err != nil {
			t.Fatal(err)
		}
		dup.SetID(fmt.Sprintf("duplicate-%d", i))
		if got := testenv.PostAs(t, p.IngressURL+"/catalyst/default", testenv.PlatformToken, dup); got != http.StatusAccepted {
			t.Fatalf("post duplicate: %d", got)
		}
	}
	testenv.WaitFor(t, "both duplicates settled", func() bool { return len(committed.Received()) == 3 })
	for _, e := range committed.Received() {
		if e.ID() != sent.MessageID+"/committed" {
			t.Errorf("committed event id %q: a replay must repeat the first commit's id", e.ID())
		}
	}
	if b := balanceOf(t, p.APIURL, acme.TenantID); b.Available != "0.985" || b.Amount != "0.985" {
		t.Fatalf("after two duplicate deliveries: %+v, want still 0.985", b)
	}
	var tx struct {
		Status  string `json:"status"`
		Charged string `json:"charged"`
	}
	if status, body := call(t, "GET", p.APIURL+"/api/v2/transactions/"+sent.MessageID, acme.APIKey, nil, nil, &tx); status != http.StatusOK ||
		tx.Status != "committed" || tx.Charged != "0.015" {
		t.Fatalf("transaction: %d %s", status, body)
	}
	billingVerify(t, env)
}

// catalyst dev is SIGKILLed after reserving and before the receipts that commit: on a
// persisted Kafka, with PostgreSQL and Redis, the restarted platform settles every
// reservation exactly once (committed for each delivered SMS), and verify is clean.
func TestReservationsSettleOnceAcrossACrash(t *testing.T) {
	t.Parallel()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	startSMSC(t, addr)
	cfgDir := carriersAt(t, addr, "1h")
	env := billingEnv(t)
	args := []string{"--smsc-addr", "", "--config", cfgDir, "--kafka-data-dir", t.TempDir()}
	first := startDev(t, env, args...)
	acme := createTenant(t, first.APIURL, "acme")
	topUp(t, first.APIURL, acme.TenantID, "10", "inv-1")
	const n = 20
	ids := make([]string, n)
	for i := range n {
		var got struct {
			MessageID string `json:"message_id"`
		}
		if status, body := call(t, "POST", first.APIURL+"/api/v1/sms/send", acme.APIKey,
			map[string]any{"to": "+447911123456", "message": fmt.Sprintf("crash %d", i)}, nil, &got); status != http.StatusAccepted {
			t.Fatalf("send %d: %d %s", i, status, body)
		}
		ids[i] = got.MessageID
	}
	testenv.WaitFor(t, "reservations in flight", func() bool {
		return balanceOf(t, first.APIURL, acme.TenantID).Blocked != "0"
	})
	blocked := balanceOf(t, first.APIURL, acme.TenantID).Blocked
	first.Kill(t)
	t.Logf("killed with %s EUR reserved", blocked)
	second := startDev(t, env, args...)
	testenv.WaitFor(t, "every message delivered and settled after the restart", func() bool {
		for _, id := range ids {
			var m messageView
			call(t, "GET", second.APIURL+"/api/v1/sms/"+id+"/status", acme.APIKey, nil, nil, &m)
			if m.Status != "delivered" {
				return false
			}
		}
		b := balanceOf(t, second.APIURL, acme.TenantID)
		return b.Blocked == "0" && b.Available == "9.7"
	})
	// The settle Sequence records each settlement on its charge after the wallet moved
	// (billing-settle → billing-record), so the records may trail the balance.
	var page struct {
		Transactions []struct {
			ID, Status, Charged string
		} `json:"transactions"`
	}
	testenv.WaitFor(t, "every charge recorded as committed", func() bool {
		if status, body := call(t, "POST", second.APIURL+"/api/v2/transactions/list", adminToken,
			map[string]any{"tenant_id": acme.TenantID, "limit": 100}, nil, &page); status != http.StatusOK || len(page.Transactions) != n {
			t.Fatalf("transactions: %d %s, want %d", status, body, n)
		}
		for _, tx := range page.Transactions {
			if tx.Status != "committed" {
				return false
			}
		}
		return true
	})
	for _, tx := range page.Transactions {
		if tx.Charged != "0.015" {
			t.Errorf("transaction %+v, want committed 0.015", tx)
		}
	}
	if rep := billingVerify(t, env); rep.OpenReservations != 0 {
		t.Fatalf("open reservations after settling: %+v", rep)
	}
}
