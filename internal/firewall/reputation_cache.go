package firewall

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// Store checks shared by the adapters (internal/postgres, internal/inmem), so both
// accept, normalise and reject alike. They live here because store.go is not this
// file's owner's to edit; they belong beside the interfaces.

// MaxValueLength bounds a reputation value (a URL may be long; nothing longer is kept).
const MaxValueLength = 2048

// Page sizes of the List methods (Reviews, Audit, ReputationStore).
const (
	DefaultPageLimit = 100
	MaxPageLimit     = 1000
)

// defaultScores is each list's score when an entry is added with Score 0.
var defaultScores = map[string]int{ListBlock: 100, ListWatch: 0, ListComplaint: 10, ListCarrier: 20}

var kinds = map[string]bool{KindSender: true, KindNumber: true, KindDomain: true, KindURL: true}

// violation is an Invalid error naming one field.
func violation(field, reason, format string, args ...any) *errs.Error {
	e := errs.E(errs.Invalid, format, args...)
	e.Fields = []errs.FieldViolation{{Field: field, Reason: reason}}
	return e
}

// NormalizeValue returns v as entries of kind keep it: trimmed; lower case for domains
// and URLs; digits only for numbers (so "+1 (555) 010-2000" is "15550102000"). It
// allocates only when v changes.
func NormalizeValue(kind, v string) string {
	v = strings.TrimSpace(v)
	switch kind {
	case KindDomain, KindURL, KindSender:
		// Sender ids are matched regardless of case: "BANK" and "Bank" are the same
		// name to a reader, and spoofers vary case to dodge lists.
		return strings.ToLower(v)
	case KindNumber:
		for i := 0; i < len(v); i++ {
			if v[i] < '0' || v[i] > '9' {
				return digitsOnly(v)
			}
		}
	}
	return v
}

func digitsOnly(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] >= '0' && v[i] <= '9' {
			b.WriteByte(v[i])
		}
	}
	return b.String()
}

// ValidateReputationEntry checks e for ReputationStore.Add and returns it normalised:
// Value as NormalizeValue gives it, Score the list's default when 0 (blocklist 100,
// watchlist 0, complaint 10, carrier 20), times in UTC microseconds. Every violation
// is reported, each with its field (kind, value, list, score, expires_at): an unknown
// kind or list, an empty or too long value or one that is not of its kind (a domain
// must be a registrable domain name, kept in lower-case Unicode; a URL a link with a
// host; a number digits and separators, at most 15 digits; no value may hold control
// characters), a score outside 0-100, an ExpiresAt that is zero or, when CreatedAt is
// set (the stores set it first), not after it.
func ValidateReputationEntry(e ReputationEntry) (ReputationEntry, error) {
	var fields []errs.FieldViolation
	bad := func(field, reason string) { fields = append(fields, errs.FieldViolation{Field: field, Reason: reason}) }
	if !kinds[e.Kind] {
		bad("kind", "one of sender, number, domain, url")
	}
	raw := e.Value
	e.Value = NormalizeValue(e.Kind, e.Value)
	var reason string
	switch {
	case e.Value == "":
		bad("value", "required (a number needs digits)")
	case len(e.Value) > MaxValueLength:
		bad("value", fmt.Sprintf("at most %d bytes", MaxValueLength))
	case e.Kind == KindNumber:
		if reason = checkNumber(raw); reason != "" {
			bad("value", reason)
		}
	case kinds[e.Kind]:
		if e.Value, reason = checkValue(e.Kind, e.Value); reason != "" {
			bad("value", reason)
		}
	}
	def, ok := defaultScores[e.List]
	if !ok {
		bad("list", "one of blocklist, watchlist, complaint, carrier")
	}
	switch {
	case e.Score < 0 || e.Score > 100:
		bad("score", "0 to 100 (0: the list's default)")
	case e.Score == 0:
		e.Score = def
	}
	if !e.CreatedAt.IsZero() {
		e.CreatedAt = StoreTime(e.CreatedAt)
	}
	if e.ExpiresAt != nil {
		exp := StoreTime(*e.ExpiresAt)
		switch {
		case e.ExpiresAt.IsZero():
			bad("expires_at", "a time, or absent for never")
		case !e.CreatedAt.IsZero() && !exp.After(e.CreatedAt):
			bad("expires_at", "after the entry is created")
		}
		e.ExpiresAt = &exp
	}
	if len(fields) > 0 {
		err := errs.E(errs.Invalid, "reputation entry: %d invalid field(s), first %s: %s", len(fields), fields[0].Field, fields[0].Reason)
		err.Fields = fields
		return e, err
	}
	return e, nil
}

// CheckReputationList checks ReputationStore.List's kind (one of the four, or "" for
// all) and limit (PageLimit).
func CheckReputationList(kind string, limit int) (int, error) {
	if kind != "" && !kinds[kind] {
		return 0, violation("kind", "one of sender, number, domain, url", "reputation list: kind %q", kind)
	}
	return PageLimit(limit)
}

// StoreTime is t as the stores keep it: UTC, microsecond precision.
func StoreTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// PageLimit checks a List limit: 0 is DefaultPageLimit, more than MaxPageLimit is
// capped, a negative one is Invalid (field limit).
func PageLimit(limit int) (int, error) {
	switch {
	case limit < 0:
		return 0, violation("limit", "0 or more", "limit %d is negative", limit)
	case limit == 0:
		return DefaultPageLimit, nil
	case limit > MaxPageLimit:
		return MaxPageLimit, nil
	}
	return limit, nil
}

// EncodeCursor returns the opaque cursor after the item at (at, id) of a page:
// base64url (unpadded) of "<unix microseconds>.<id>".
func EncodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMicro(), 10) + "." + id))
}

// DecodeCursor reverses EncodeCursor; "" is the first page (zero time, ""). A cursor
// it did not make is Invalid (field cursor).
func DecodeCursor(s string) (time.Time, string, error) {
	if s == "" {
		return time.Time{}, "", nil
	}
	bad := violation("cursor", "not a cursor this API returned", "malformed cursor %q", s)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, "", bad
	}
	micros, id, ok := strings.Cut(string(raw), ".")
	us, err := strconv.ParseInt(micros, 10, 64)
	if !ok || err != nil || id == "" {
		return time.Time{}, "", bad
	}
	return time.UnixMicro(us).UTC(), id, nil
}

// CheckReview checks r for Reviews.Hold and returns it as stored: pending, created at
// now, no decision, times in UTC microseconds. MessageID, TenantID and Deadline are
// required.
func CheckReview(r Review, now time.Time) (Review, error) {
	switch {
	case r.MessageID == "":
		return r, violation("message_id", "required", "review: no message id")
	case r.TenantID == "":
		return r, violation("tenant_id", "required", "review of %s: no tenant", r.MessageID)
	case r.Deadline.IsZero():
		return r, violation("deadline", "required", "review of %s: no deadline", r.MessageID)
	}
	r.State, r.CreatedAt, r.Deadline = ReviewPending, StoreTime(now), StoreTime(r.Deadline)
	r.DecidedAt, r.DecidedBy, r.Outcome, r.Note, r.DeliveredAt = nil, "", "", "", nil
	return r, nil
}

// CheckDecision checks the arguments of Reviews.Decide and returns at as stored (now
// when zero): state approved, rejected or expired; outcome pass or block; by required.
func CheckDecision(state, outcome, by string, at, now time.Time) (time.Time, error) {
	switch {
	case state != ReviewApproved && state != ReviewRejected && state != ReviewExpired:
		return at, violation("state", "approved, rejected or expired", "decision: state %q", state)
	case outcome != Pass && outcome != Block:
		return at, violation("outcome", "pass or block", "decision: outcome %q", outcome)
	case by == "":
		return at, violation("decided_by", "required", "decision: no decider")
	}
	if at.IsZero() {
		at = now
	}
	return StoreTime(at), nil
}

// CheckReviewFilter checks f for Reviews.List: a known State or "", a valid Limit
// (PageLimit) and Cursor (DecodeCursor).
func CheckReviewFilter(f ReviewFilter) (ReviewFilter, time.Time, string, error) {
	switch f.State {
	case "", ReviewPending, ReviewApproved, ReviewRejected, ReviewExpired:
	default:
		return f, time.Time{}, "", violation("state", "pending, approved, rejected or expired", "review filter: state %q", f.State)
	}
	var err error
	if f.Limit, err = PageLimit(f.Limit); err != nil {
		return f, time.Time{}, "", err
	}
	at, id, err := DecodeCursor(f.Cursor)
	return f, at, id, err
}

// CheckDeferred checks d for Reviews.Defer: MessageID, TenantID and ReleaseAt
// required; ReleaseAt in UTC microseconds.
func CheckDeferred(d Deferred) (Deferred, error) {
	switch {
	case d.MessageID == "":
		return d, violation("message_id", "required", "deferred message: no message id")
	case d.TenantID == "":
		return d, violation("tenant_id", "required", "deferred message %s: no tenant", d.MessageID)
	case d.ReleaseAt.IsZero():
		return d, violation("release_at", "required", "deferred message %s: no release time", d.MessageID)
	}
	d.ReleaseAt, d.ReleasedAt = StoreTime(d.ReleaseAt), nil
	return d, nil
}

// CheckAuditRecords checks a batch for Audit.Record and returns it as stored: a zero
// At is now, times in UTC microseconds, and a record whose ID appeared earlier in the
// batch dropped (the first wins). ID, MessageID and TenantID are required; one bad
// record fails the batch (field records[i].…).
func CheckAuditRecords(recs []AuditRecord, now time.Time) ([]AuditRecord, error) {
	// Records are large (a whole screen each) and on every decision's path: they are
	// checked and compacted in place, not copied; recs' elements are rewritten.
	out := recs[:0]
	seen := make(map[string]bool, len(recs))
	for i := range recs {
		r := &recs[i]
		var field string
		switch {
		case r.ID == "":
			field = "id"
		case r.MessageID == "":
			field = "message_id"
		case r.TenantID == "":
			field = "tenant_id"
		case r.Screen == nil:
			field = "screen"
		}
		if field != "" {
			return nil, violation(fmt.Sprintf("records[%d].%s", i, field), "required", "audit record %d (%q): no %s", i, r.ID, field)
		}
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		if r.At.IsZero() {
			r.At = now
		}
		r.At = StoreTime(r.At)
		out = append(out, *r)
	}
	return out, nil
}

// AuditDecision is the decision an audit record is filed under: its verdict's, or ""
// before decide ran.
func AuditDecision(r AuditRecord) string {
	if r.Screen == nil || r.Screen.Verdict == nil {
		return ""
	}
	return r.Screen.Verdict.Decision
}

// CheckAuditFilter checks f for Audit.List: Decision one of the four or "", Since and
// Until in UTC microseconds, a valid Limit and Cursor.
func CheckAuditFilter(f AuditFilter) (AuditFilter, time.Time, string, error) {
	switch f.Decision {
	case "", Pass, Block, Hold, Throttle:
	default:
		return f, time.Time{}, "", violation("decision", "pass, block, hold or throttle", "audit filter: decision %q", f.Decision)
	}
	if !f.Since.IsZero() {
		f.Since = StoreTime(f.Since)
	}
	if !f.Until.IsZero() {
		f.Until = StoreTime(f.Until)
	}
	var err error
	if f.Limit, err = PageLimit(f.Limit); err != nil {
		return f, time.Time{}, "", err
	}
	at, id, err := DecodeCursor(f.Cursor)
	return f, at, id, err
}

// The cache.

// DefaultReputationTTL is NewReputationCache's ttl when given none.
const DefaultReputationTTL = 30 * time.Second

// DefaultReputationCacheSize bounds the cached standings; past it, entries are evicted.
const DefaultReputationCacheSize = 100_000

const cacheShards = 64

// ReputationCache is a ReputationStore that answers Standings from memory: the
// standing of each (tenant, key), and the absence of one, is kept for ttl after it
// was read from the store. A hit costs a hash and a read lock per key, no I/O.
//
// Add through the cache forgets the added key (for every tenant) and Delete forgets
// everything (it knows the id only), so this process sees its own changes at once.
// Other processes, and entries that expire, are seen at most ttl late: a blocklist
// entry added on another replica takes effect there after ttl.
//
// It holds at most DefaultReputationCacheSize standings; a shard over its share drops
// about a quarter of its entries, arbitrary ones. Safe for concurrent use.
type ReputationCache struct {
	store ReputationStore
	ttl   time.Duration
	now   func() time.Time
	max   int // standings per shard
	// gen counts invalidations: a miss whose read began before one does not fill the
	// cache, so a standing read before an Add is never kept after it.
	gen    atomic.Uint64
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[ReputationKey]map[string]cached // key → tenant → standing
	n  int
}

type cached struct {
	standing Standing
	found    bool
	until    int64 // unix nanoseconds
}

var _ ReputationStore = (*ReputationCache)(nil)

// NewReputationCache returns store with a cache of ttl (DefaultReputationTTL when
// <= 0) in front of Standings; now is the clock (time.Now when nil).
func NewReputationCache(store ReputationStore, ttl time.Duration, now func() time.Time) *ReputationCache {
	if ttl <= 0 {
		ttl = DefaultReputationTTL
	}
	if now == nil {
		now = time.Now
	}
	c := &ReputationCache{store: store, ttl: ttl, now: now, max: DefaultReputationCacheSize / cacheShards}
	for i := range c.shards {
		c.shards[i].m = map[ReputationKey]map[string]cached{}
	}
	return c
}

// shard picks k's shard (FNV-1a of kind and value, no allocation).
func (c *ReputationCache) shard(k ReputationKey) *cacheShard {
	h := uint32(2166136261)
	for i := 0; i < len(k.Kind); i++ {
		h = (h ^ uint32(k.Kind[i])) * 16777619
	}
	for i := 0; i < len(k.Value); i++ {
		h = (h ^ uint32(k.Value[i])) * 16777619
	}
	return &c.shards[h%cacheShards]
}

// Standings implements ReputationStore: cached keys from memory, the rest from the
// store in one call. Keys are normalised as entries are (NormalizeValue), and the
// result is keyed by the keys as given. A cached standing is the one computed at the
// t of the read that filled it.
func (c *ReputationCache) Standings(ctx context.Context, tenantID string, keys []ReputationKey, t time.Time) (map[ReputationKey]Standing, error) {
	out := make(map[ReputationKey]Standing, len(keys))
	now := c.now().UnixNano()
	var miss, missAs []ReputationKey // normalised, and as given (a key may repeat: harmless)
	for _, k := range keys {
		nk := ReputationKey{Kind: k.Kind, Value: NormalizeValue(k.Kind, k.Value)}
		s := c.shard(nk)
		s.mu.RLock()
		e, ok := s.m[nk][tenantID]
		s.mu.RUnlock()
		if ok && e.until > now {
			if e.found {
				out[k] = e.standing
			}
			continue
		}
		miss, missAs = append(miss, nk), append(missAs, k)
	}
	if len(miss) == 0 {
		return out, nil
	}
	gen := c.gen.Load()
	got, err := c.store.Standings(ctx, tenantID, miss, t)
	if err != nil {
		return nil, err
	}
	until := now + int64(c.ttl)
	for i, nk := range miss {
		st, found := got[nk]
		if found {
			out[missAs[i]] = st
		}
		c.put(nk, tenantID, cached{standing: st, found: found, until: until}, gen)
	}
	return out, nil
}

func (c *ReputationCache) put(k ReputationKey, tenantID string, e cached, gen uint64) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.gen.Load() != gen { // invalidated while the store was read
		return
	}
	byTenant := s.m[k]
	if byTenant == nil {
		byTenant = map[string]cached{}
		s.m[k] = byTenant
	}
	if _, ok := byTenant[tenantID]; !ok {
		s.n++
	}
	byTenant[tenantID] = e
	if s.n > c.max {
		s.evict(c.max / 4)
	}
}

// evict drops at least n standings, whole keys at a time, in map order (arbitrary).
func (s *cacheShard) evict(n int) {
	dropped := 0
	for k, byTenant := range s.m {
		if dropped >= n {
			break
		}
		dropped += len(byTenant)
		delete(s.m, k)
	}
	s.n -= dropped
}

// forget drops k (normalised) for every tenant.
func (c *ReputationCache) forget(k ReputationKey) {
	s := c.shard(k)
	s.mu.Lock()
	c.gen.Add(1)
	s.n -= len(s.m[k])
	delete(s.m, k)
	s.mu.Unlock()
}

// Add implements ReputationStore and forgets the entry's key.
func (c *ReputationCache) Add(ctx context.Context, e ReputationEntry) (ReputationEntry, error) {
	got, err := c.store.Add(ctx, e)
	if err == nil {
		c.forget(ReputationKey{Kind: got.Kind, Value: got.Value})
	}
	return got, err
}

// Delete implements ReputationStore and forgets every cached standing: the id alone
// does not say which key it was.
func (c *ReputationCache) Delete(ctx context.Context, id string) error {
	err := c.store.Delete(ctx, id)
	if err == nil {
		for i := range c.shards {
			s := &c.shards[i]
			s.mu.Lock()
			c.gen.Add(1)
			s.m, s.n = map[ReputationKey]map[string]cached{}, 0
			s.mu.Unlock()
		}
	}
	return err
}

// List implements ReputationStore (not cached).
func (c *ReputationCache) List(ctx context.Context, tenantID, kind string, limit int) ([]ReputationEntry, error) {
	return c.store.List(ctx, tenantID, kind, limit)
}

// Len returns the number of cached standings.
func (c *ReputationCache) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += s.n
		s.mu.RUnlock()
	}
	return n
}
