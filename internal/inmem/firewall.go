package inmem

import (
	"cmp"
	"context"
	"runtime"
	"slices"
	"sync"
	"time"
	"weak"

	"github.com/google/uuid"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

// firewallStores are a DB's firewall stores. They hang off the DB through a weak
// pointer, so inmem.go's DB needs no field for them; the entry goes with its DB.
type firewallStores struct {
	reputation *ReputationStore
	reviews    *ReviewStore
	audit      *AuditStore
}

var firewallByDB sync.Map // weak.Pointer[DB] → *firewallStores

func (db *DB) firewall() *firewallStores {
	k := weak.Make(db)
	if fs, ok := firewallByDB.Load(k); ok {
		return fs.(*firewallStores)
	}
	now := db.billing.rateCards.now // the DB's clock (UTC microseconds)
	fs, loaded := firewallByDB.LoadOrStore(k, &firewallStores{
		reputation: NewReputationStore(now),
		reviews:    NewReviewStore(now),
		audit:      NewAuditStore(now),
	})
	if !loaded {
		runtime.AddCleanup(db, func(k weak.Pointer[DB]) { firewallByDB.Delete(k) }, k)
	}
	return fs.(*firewallStores)
}

// FirewallReputation returns the reputation entries.
func (db *DB) FirewallReputation() firewall.ReputationStore { return db.firewall().reputation }

// FirewallReviews returns the review queue and the deferred (throttled) messages.
func (db *DB) FirewallReviews() firewall.Reviews { return db.firewall().reviews }

// FirewallAudit returns the decision audit.
func (db *DB) FirewallAudit() firewall.Audit { return db.firewall().audit }

// clockOf returns now as the stores keep time (time.Now when nil).
func clockOf(now func() time.Time) func() time.Time {
	if now == nil {
		now = time.Now
	}
	return func() time.Time { return firewall.StoreTime(now()) }
}

// ReputationStore is firewall.ReputationStore in memory: the entries by id, and their
// ids by key for Standings.
type ReputationStore struct {
	now   func() time.Time
	mu    sync.RWMutex
	byID  map[string]firewall.ReputationEntry
	byKey map[firewall.ReputationKey][]string
}

var _ firewall.ReputationStore = (*ReputationStore)(nil)

// NewReputationStore returns an empty store reading the time from now.
func NewReputationStore(now func() time.Time) *ReputationStore {
	return &ReputationStore{now: clockOf(now), byID: map[string]firewall.ReputationEntry{},
		byKey: map[firewall.ReputationKey][]string{}}
}

func copyEntry(e firewall.ReputationEntry) firewall.ReputationEntry {
	if e.ExpiresAt != nil {
		exp := *e.ExpiresAt
		e.ExpiresAt = &exp
	}
	return e
}

// Add implements firewall.ReputationStore.
func (s *ReputationStore) Add(_ context.Context, e firewall.ReputationEntry) (firewall.ReputationEntry, error) {
	e.ID, e.CreatedAt = uuid.NewString(), s.now()
	e, err := firewall.ValidateReputationEntry(e)
	if err != nil {
		return firewall.ReputationEntry{}, err
	}
	k := firewall.ReputationKey{Kind: e.Kind, Value: e.Value}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byID[e.ID] = copyEntry(e)
	s.byKey[k] = append(s.byKey[k], e.ID)
	return e, nil
}

// Standings implements firewall.ReputationStore; keys are normalised as entries are,
// and the result is keyed by the keys as given.
func (s *ReputationStore) Standings(_ context.Context, tenantID string, keys []firewall.ReputationKey, t time.Time) (map[firewall.ReputationKey]firewall.Standing, error) {
	out := make(map[firewall.ReputationKey]firewall.Standing, len(keys))
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, k := range keys {
		nk := firewall.ReputationKey{Kind: k.Kind, Value: firewall.NormalizeValue(k.Kind, k.Value)}
		var st firewall.Standing
		var found bool
		var listed, added int
		for _, id := range s.byKey[nk] {
			e := s.byID[id]
			if e.TenantID != "" && e.TenantID != tenantID || e.ExpiresAt != nil && !e.ExpiresAt.After(t) {
				continue
			}
			found = true
			switch e.List {
			case firewall.ListBlock, firewall.ListWatch:
				listed = max(listed, e.Score)
				st.WatchListed = st.WatchListed || e.List == firewall.ListWatch
			default:
				added += e.Score
				st.Complaints++
			}
		}
		if found {
			st.Score = min(100, listed+added)
			out[k] = st
		}
	}
	return out, nil
}

// List implements firewall.ReputationStore: newest first, ties by id descending.
func (s *ReputationStore) List(_ context.Context, tenantID, kind string, limit int) ([]firewall.ReputationEntry, error) {
	limit, err := firewall.CheckReputationList(kind, limit)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	out := []firewall.ReputationEntry{}
	for _, e := range s.byID {
		if e.TenantID == tenantID && (kind == "" || e.Kind == kind) {
			out = append(out, copyEntry(e))
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b firewall.ReputationEntry) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	return out[:min(limit, len(out))], nil
}

// Delete implements firewall.ReputationStore.
func (s *ReputationStore) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byID[id]
	if !ok {
		return errs.E(errs.NotFound, "reputation entry %s not found", id)
	}
	delete(s.byID, id)
	k := firewall.ReputationKey{Kind: e.Kind, Value: e.Value}
	if ids := slices.DeleteFunc(s.byKey[k], func(x string) bool { return x == id }); len(ids) > 0 {
		s.byKey[k] = ids
	} else {
		delete(s.byKey, k)
	}
	return nil
}

// ReviewStore is firewall.Reviews in memory. Screens are kept as JSON, as postgres
// keeps them, so a caller never shares memory with the store and reads decode the
// same values.
type ReviewStore struct {
	now      func() time.Time
	mu       sync.Mutex
	reviews  map[string]storedReview
	deferred map[string]storedDeferred
}

// Stored reviews and deferred messages keep a deep copy of their screen
// (Screen.Clone), handed out as copies: cheaper than JSON on the hold path.
type storedReview struct {
	r            firewall.Review
	claimedUntil time.Time // a decider's or sweeper's lease (Decide, Undelivered)
}

type storedDeferred struct {
	d            firewall.Deferred
	claimedUntil time.Time // a sweeper's lease (Due)
}

var _ firewall.Reviews = (*ReviewStore)(nil)

// NewReviewStore returns an empty store reading the time from now.
func NewReviewStore(now func() time.Time) *ReviewStore {
	return &ReviewStore{now: clockOf(now), reviews: map[string]storedReview{}, deferred: map[string]storedDeferred{}}
}

func (sr storedReview) decode() firewall.Review {
	r := sr.r
	r.Screen = r.Screen.Clone()
	r.DecidedAt, r.DeliveredAt = copyTime(r.DecidedAt), copyTime(r.DeliveredAt)
	return r
}

func (sd storedDeferred) decode() firewall.Deferred {
	d := sd.d
	d.Screen = d.Screen.Clone()
	d.ReleasedAt = copyTime(d.ReleasedAt)
	return d
}

func copyTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

// claimable says whether a lease ending at until has lapsed at t.
func claimable(until, t time.Time) bool { return !until.After(t) }

// Hold implements firewall.Reviews.
func (s *ReviewStore) Hold(_ context.Context, r firewall.Review) (firewall.Review, error) {
	r, err := firewall.CheckReview(r, s.now())
	if err != nil {
		return firewall.Review{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sr, ok := s.reviews[r.MessageID]; ok {
		return sr.decode(), nil
	}
	r.Screen = r.Screen.Clone()
	sr := storedReview{r: r}
	s.reviews[r.MessageID] = sr
	return sr.decode(), nil
}

// Get implements firewall.Reviews.
func (s *ReviewStore) Get(_ context.Context, messageID string) (firewall.Review, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sr, ok := s.reviews[messageID]
	if !ok {
		return firewall.Review{}, errs.E(errs.NotFound, "review of message %s not found", messageID)
	}
	return sr.decode(), nil
}

// List implements firewall.Reviews: oldest first, ties by message id byte-wise.
func (s *ReviewStore) List(_ context.Context, f firewall.ReviewFilter) ([]firewall.Review, string, error) {
	f, curAt, curID, err := firewall.CheckReviewFilter(f)
	if err != nil {
		return nil, "", err
	}
	after := func(r firewall.Review) bool {
		return curID == "" || cmp.Or(r.CreatedAt.Compare(curAt), cmp.Compare(r.MessageID, curID)) > 0
	}
	s.mu.Lock()
	var page []storedReview
	for _, sr := range s.reviews {
		if (f.TenantID == "" || sr.r.TenantID == f.TenantID) && (f.State == "" || sr.r.State == f.State) && after(sr.r) {
			page = append(page, sr)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(page, func(a, b storedReview) int {
		return cmp.Or(a.r.CreatedAt.Compare(b.r.CreatedAt), cmp.Compare(a.r.MessageID, b.r.MessageID))
	})
	out := make([]firewall.Review, 0, min(len(page), f.Limit))
	for _, sr := range page[:min(len(page), f.Limit)] {
		out = append(out, sr.decode())
	}
	next := ""
	if len(page) > f.Limit {
		last := out[f.Limit-1]
		next = firewall.EncodeCursor(last.CreatedAt, last.MessageID)
	}
	return out, next, nil
}

// Decide implements firewall.Reviews.
func (s *ReviewStore) Decide(_ context.Context, messageID, state, outcome, by, note string, at time.Time) (firewall.Review, error) {
	at, err := firewall.CheckDecision(state, outcome, by, at, s.now())
	if err != nil {
		return firewall.Review{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sr, ok := s.reviews[messageID]
	switch {
	case !ok:
		return firewall.Review{}, errs.E(errs.NotFound, "review of message %s not found", messageID)
	case sr.r.State != firewall.ReviewPending:
		if sr.r.State != state || sr.r.Outcome != outcome {
			return firewall.Review{}, errs.E(errs.Conflict, "review of message %s is already %s (%s)", messageID, sr.r.State, sr.r.Outcome)
		}
		return sr.decode(), nil
	}
	sr.r.State, sr.r.Outcome, sr.r.DecidedBy, sr.r.Note, sr.r.DecidedAt = state, outcome, by, note, &at
	sr.claimedUntil = at.Add(firewall.DeliveryLease)
	s.reviews[messageID] = sr
	return sr.decode(), nil
}

// Overdue implements firewall.Reviews, by deadline, ties by message id.
func (s *ReviewStore) Overdue(_ context.Context, t time.Time, limit int) ([]firewall.Review, error) {
	limit, err := firewall.PageLimit(limit)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	var due []storedReview
	for _, sr := range s.reviews {
		if sr.r.State == firewall.ReviewPending && !sr.r.Deadline.After(t) {
			due = append(due, sr)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(due, func(a, b storedReview) int {
		return cmp.Or(a.r.Deadline.Compare(b.r.Deadline), cmp.Compare(a.r.MessageID, b.r.MessageID))
	})
	out := make([]firewall.Review, 0, min(len(due), limit))
	for _, sr := range due[:min(len(due), limit)] {
		out = append(out, sr.decode())
	}
	return out, nil
}

// Defer implements firewall.Reviews.
func (s *ReviewStore) Defer(_ context.Context, d firewall.Deferred) error {
	d, err := firewall.CheckDeferred(d)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.deferred[d.MessageID]; !ok {
		d.Screen = d.Screen.Clone()
		s.deferred[d.MessageID] = storedDeferred{d: d}
	}
	return nil
}

// Due implements firewall.Reviews, by release time, ties by message id.
func (s *ReviewStore) Due(_ context.Context, t time.Time, limit int) ([]firewall.Deferred, error) {
	limit, err := firewall.PageLimit(limit)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []storedDeferred
	for _, sd := range s.deferred {
		if sd.d.ReleasedAt == nil && !sd.d.ReleaseAt.After(t) && claimable(sd.claimedUntil, t) {
			due = append(due, sd)
		}
	}
	slices.SortFunc(due, func(a, b storedDeferred) int {
		return cmp.Or(a.d.ReleaseAt.Compare(b.d.ReleaseAt), cmp.Compare(a.d.MessageID, b.d.MessageID))
	})
	out := make([]firewall.Deferred, 0, min(len(due), limit))
	for _, sd := range due[:min(len(due), limit)] {
		sd.claimedUntil = t.Add(firewall.DeliveryLease)
		s.deferred[sd.d.MessageID] = sd
		out = append(out, sd.decode())
	}
	return out, nil
}

// Released implements firewall.Reviews; the message stays, released, so a second
// Defer of it is still a no-op.
func (s *ReviewStore) Released(_ context.Context, messageID string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sd, ok := s.deferred[messageID]; ok && sd.d.ReleasedAt == nil {
		at = firewall.StoreTime(at)
		sd.d.ReleasedAt = &at
		s.deferred[messageID] = sd
	}
	return nil
}

// Undelivered implements firewall.Reviews, oldest decision first, ties by message id.
func (s *ReviewStore) Undelivered(_ context.Context, t time.Time, limit int) ([]firewall.Review, error) {
	limit, err := firewall.PageLimit(limit)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var owed []storedReview
	for _, sr := range s.reviews {
		if sr.r.State != firewall.ReviewPending && sr.r.DeliveredAt == nil && claimable(sr.claimedUntil, t) {
			owed = append(owed, sr)
		}
	}
	slices.SortFunc(owed, func(a, b storedReview) int {
		return cmp.Or(a.r.DecidedAt.Compare(*b.r.DecidedAt), cmp.Compare(a.r.MessageID, b.r.MessageID))
	})
	out := make([]firewall.Review, 0, min(len(owed), limit))
	for _, sr := range owed[:min(len(owed), limit)] {
		sr.claimedUntil = t.Add(firewall.DeliveryLease)
		s.reviews[sr.r.MessageID] = sr
		out = append(out, sr.decode())
	}
	return out, nil
}

// Delivered implements firewall.Reviews.
func (s *ReviewStore) Delivered(_ context.Context, messageID string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sr, ok := s.reviews[messageID]
	switch {
	case !ok:
		return errs.E(errs.NotFound, "review of message %s not found", messageID)
	case sr.r.State == firewall.ReviewPending:
		return errs.E(errs.Conflict, "review of message %s is pending: nothing to deliver", messageID)
	case sr.r.DeliveredAt == nil:
		at = firewall.StoreTime(at)
		sr.r.DeliveredAt = &at
		s.reviews[messageID] = sr
	}
	return nil
}

// Purge implements firewall.Reviews.
func (s *ReviewStore) Purge(_ context.Context, before time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, sr := range s.reviews {
		if sr.r.DeliveredAt != nil && sr.r.DecidedAt.Before(before) {
			delete(s.reviews, id)
			n++
		}
	}
	for id, sd := range s.deferred {
		if sd.d.ReleasedAt != nil && sd.d.ReleasedAt.Before(before) {
			delete(s.deferred, id)
			n++
		}
	}
	return n, nil
}

// AuditStore is firewall.Audit in memory: the records by id, screens kept as JSON.
type AuditStore struct {
	now  func() time.Time
	mu   sync.Mutex
	byID map[string]*storedAudit
	// order is the ids in the order recorded, so the oldest go first once there are
	// AuditMemoryLimit: catalyst dev's audit is a window, not a history.
	order []string
	head  int
}

// AuditMemoryLimit is how many decisions the in-memory audit keeps (the newest).
// Without a bound a long-running catalyst dev would grow by every message it screens.
const AuditMemoryLimit = 100_000

type storedAudit struct {
	r        firewall.AuditRecord // its Screen a deep copy (Screen.Clone), never shared
	decision string
}

var _ firewall.Audit = (*AuditStore)(nil)

// NewAuditStore returns an empty audit reading the time from now.
func NewAuditStore(now func() time.Time) *AuditStore {
	return &AuditStore{now: clockOf(now), byID: map[string]*storedAudit{}}
}

// Record implements firewall.Audit: one bad record records none; a recorded id is
// left as is.
func (s *AuditStore) Record(ctx context.Context, recs ...firewall.AuditRecord) error {
	_, err := s.RecordFirst(ctx, recs...)
	return err
}

// RecordFirst implements firewall.Audit.
func (s *AuditStore) RecordFirst(_ context.Context, recs ...firewall.AuditRecord) ([]*firewall.Verdict, error) {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	recs, err := firewall.CheckAuditRecords(recs, s.now())
	if err != nil {
		return nil, err
	}
	// Neither JSON nor a copy: the audit is on every decision's path, and encoding
	// it was the largest cost of the fused firewall in memory.
	rows := make([]*storedAudit, len(recs))
	for i := range recs {
		// The screen is kept as given (Audit's contract: the caller no longer changes
		// it); List hands out copies.
		rows[i] = &storedAudit{r: recs[i], decision: firewall.AuditDecision(recs[i])}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, row := range rows {
		if _, ok := s.byID[row.r.ID]; !ok {
			s.byID[row.r.ID] = row
			s.remember(row.r.ID)
		}
	}
	standing := make([]*firewall.Verdict, len(ids))
	for i, id := range ids {
		if row, ok := s.byID[id]; ok && row.r.Screen != nil {
			standing[i] = row.r.Screen.Verdict // the stored one itself: callers read it only
		}
	}
	return standing, nil
}

// remember appends id to the ring of recorded ids, forgetting the oldest record
// once the ring is full.
func (s *AuditStore) remember(id string) {
	if len(s.order) < AuditMemoryLimit {
		s.order = append(s.order, id)
		return
	}
	delete(s.byID, s.order[s.head])
	s.order[s.head] = id
	s.head = (s.head + 1) % AuditMemoryLimit
}

// List implements firewall.Audit: by at, then id byte-wise.
func (s *AuditStore) List(_ context.Context, f firewall.AuditFilter) ([]firewall.AuditRecord, string, error) {
	f, curAt, curID, err := firewall.CheckAuditFilter(f)
	if err != nil {
		return nil, "", err
	}
	keep := func(sa *storedAudit) bool {
		r := sa.r
		return (f.TenantID == "" || r.TenantID == f.TenantID) && (f.Decision == "" || sa.decision == f.Decision) &&
			!r.At.Before(f.Since) && (f.Until.IsZero() || r.At.Before(f.Until)) &&
			(curID == "" || cmp.Or(r.At.Compare(curAt), cmp.Compare(r.ID, curID)) > 0)
	}
	s.mu.Lock()
	var page []*storedAudit
	for _, sa := range s.byID {
		if keep(sa) {
			page = append(page, sa)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(page, func(a, b *storedAudit) int { return cmp.Or(a.r.At.Compare(b.r.At), cmp.Compare(a.r.ID, b.r.ID)) })
	out := make([]firewall.AuditRecord, 0, min(len(page), f.Limit))
	for _, sa := range page[:min(len(page), f.Limit)] {
		r := sa.r
		c := r.Screen.Clone()
		r.Screen = &c
		out = append(out, r)
	}
	next := ""
	if len(page) > f.Limit {
		last := out[f.Limit-1]
		next = firewall.EncodeCursor(last.At, last.ID)
	}
	return out, next, nil
}
