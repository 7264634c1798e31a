package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// newHTTPClient is one client for the whole run, with a keep-alive connection per
// in-flight request.
func newHTTPClient(concurrency int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        concurrency + 16,
			MaxIdleConnsPerHost: concurrency + 16, // + the stats polls
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 5 * time.Second,
		},
	}
}

// apiClient speaks the platform's HTTP API.
type apiClient struct {
	base, admin string
	http        *http.Client
}

// apiError is a non-2xx answer, with the API's error code and message when the body
// has them ({"error":{"code":…,"message":…}}).
type apiError struct {
	Status        int
	Code, Message string
}

func (e *apiError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// readAPIError builds an apiError from an answer's status and body.
func readAPIError(status int, body []byte) *apiError {
	var b struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.Unmarshal(body, &b)
	return &apiError{Status: status, Code: b.Error.Code, Message: b.Error.Message}
}

// do sends a JSON request with a bearer token and returns the status and body.
func (c *apiClient) do(ctx context.Context, method, path, token string, body []byte, header map[string]string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, raw, err
}

// account is a tenant the run created, with its API key.
type account struct {
	ID     string
	APIKey string
	Brand  string
}

// createTenant is POST /api/v2/tenants (admin): a new tenant in EUR and its first key.
func (c *apiClient) createTenant(ctx context.Context, name, email string) (account, error) {
	body, _ := json.Marshal(map[string]string{"name": name, "email": email, "currency": "EUR"})
	status, raw, err := c.do(ctx, http.MethodPost, "/api/v2/tenants", c.admin, body, nil)
	if err != nil {
		return account{}, fmt.Errorf("create tenant %s: %w", name, err)
	}
	if status != http.StatusCreated {
		return account{}, fmt.Errorf("create tenant %s: %w", name, readAPIError(status, raw))
	}
	var a struct {
		TenantID string `json:"tenant_id"`
		APIKey   string `json:"api_key"`
	}
	if err := json.Unmarshal(raw, &a); err != nil || a.TenantID == "" || a.APIKey == "" {
		return account{}, fmt.Errorf("create tenant %s: answer without tenant_id and api_key: %.200s", name, raw)
	}
	return account{ID: a.TenantID, APIKey: a.APIKey}, nil
}

// topUp is POST /api/v2/balances/{tenant_id}/topup (admin), keyed so a retry credits once.
func (c *apiClient) topUp(ctx context.Context, tenantID, amount, key string) error {
	body, _ := json.Marshal(map[string]string{"amount": amount, "reference": "catalyst loadgen"})
	status, raw, err := c.do(ctx, http.MethodPost, "/api/v2/balances/"+url.PathEscape(tenantID)+"/topup", c.admin, body,
		map[string]string{"Idempotency-Key": key})
	if err != nil {
		return fmt.Errorf("top up tenant %s: %w", tenantID, err)
	}
	if status != http.StatusCreated && status != http.StatusOK {
		return fmt.Errorf("top up tenant %s: %w", tenantID, readAPIError(status, raw))
	}
	return nil
}

// sendResult is the outcome of one POST /api/v1/sms/send.
type sendResult struct {
	status int // 0: transport error
	parts  int
	err    error // transport error, or the API's error for a non-202
}

// send is POST /api/v1/sms/send with a tenant's key.
func (c *apiClient) send(ctx context.Context, apiKey string, body []byte) sendResult {
	status, raw, err := c.do(ctx, http.MethodPost, "/api/v1/sms/send", apiKey, body, nil)
	switch {
	case err != nil && status == 0:
		return sendResult{err: err}
	case status != http.StatusAccepted:
		return sendResult{status: status, err: readAPIError(status, raw)}
	}
	var a struct {
		Parts int `json:"parts"`
	}
	_ = json.Unmarshal(raw, &a)
	return sendResult{status: status, parts: a.Parts}
}

// errStatsUnavailable: the platform has no GET /api/v1/messages/stats.
var errStatsUnavailable = errors.New("GET /api/v1/messages/stats is not available")

// platformStats is the answer of GET /api/v1/messages/stats: a tenant's messages
// created in [since, until), counted by status, and the accept-to-delivered latency
// of those delivered.
type platformStats struct {
	Since    string           `json:"since"`
	Until    string           `json:"until"`
	Total    int64            `json:"total"`
	ByStatus map[string]int64 `json:"by_status"`
	Latency  struct {
		Count int64   `json:"count"`
		P50   float64 `json:"p50_ms"`
		P95   float64 `json:"p95_ms"`
		P99   float64 `json:"p99_ms"`
		Max   float64 `json:"max_ms"`
		Mean  float64 `json:"mean_ms"`
	} `json:"latency"`
}

// stats reads one tenant's stats. An answer that says the endpoint does not exist
// (404, 405, or a 400/422 from another route matching the path) is
// errStatsUnavailable; anything else that is not 200 is a transient error.
func (c *apiClient) stats(ctx context.Context, apiKey string, since time.Time) (platformStats, error) {
	path := "/api/v1/messages/stats?since=" + url.QueryEscape(since.UTC().Format(time.RFC3339))
	status, raw, err := c.do(ctx, http.MethodGet, path, apiKey, nil, nil)
	if err != nil {
		return platformStats{}, err
	}
	switch status {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusBadRequest, http.StatusUnprocessableEntity:
		return platformStats{}, fmt.Errorf("%w (%v)", errStatsUnavailable, readAPIError(status, raw))
	default:
		return platformStats{}, readAPIError(status, raw)
	}
	var s platformStats
	if err := json.Unmarshal(raw, &s); err != nil || s.ByStatus == nil {
		return platformStats{}, fmt.Errorf("%w: answer is not the stats document: %.200s", errStatsUnavailable, raw)
	}
	return s, nil
}
