package postgres

import (
	"testing"
	"testing/fstest"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

func TestMigrationsAreNumberedInOrder(t *testing.T) {
	t.Parallel()
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"0001_tenants", "0002_messages", "0003_idempotency"}
	if len(ms) < len(want) {
		t.Fatalf("%d migrations, want at least %d", len(ms), len(want))
	}
	for i, v := range want {
		if ms[i].Version != v || ms[i].SQL == "" {
			t.Errorf("migration %d = %s (%d bytes of SQL), want %s with SQL", i, ms[i].Version, len(ms[i].SQL), v)
		}
	}
}

func TestReadMigrationsRejectsBadNames(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		files fstest.MapFS
		want  []string // versions, when valid
	}{
		{"sorted by name", fstest.MapFS{"0002_b.sql": {Data: []byte("b")}, "0001_a.sql": {Data: []byte("a")}, "README.md": {}}, []string{"0001_a", "0002_b"}},
		{"unnumbered", fstest.MapFS{"tenants.sql": {Data: []byte("x")}}, nil},
		{"upper case", fstest.MapFS{"0001_Tenants.sql": {Data: []byte("x")}}, nil},
		{"shared number", fstest.MapFS{"0001_a.sql": {Data: []byte("a")}, "0001_b.sql": {Data: []byte("b")}}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			ms, err := readMigrations(c.files)
			if c.want == nil {
				if errs.CodeOf(err) != errs.Internal {
					t.Fatalf("readMigrations = %v, %v; want an Internal error", ms, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != len(c.want) {
				t.Fatalf("got %d migrations, want %v", len(ms), c.want)
			}
			for i, v := range c.want {
				if ms[i].Version != v {
					t.Errorf("migration %d = %s, want %s", i, ms[i].Version, v)
				}
			}
		})
	}
}
