package eventfilter

// Types reports the event types f can match, when f pins them: an exact type test,
// an all with such a member (the intersection of its pinned members), or an any of
// which every member pins its types (their union). ok is false when some type might
// match (no exact type test, a prefix or suffix on it, not, CESQL). A consumer uses
// it to skip, from a record's type header alone, the events a subscription never
// takes, without decoding them.
func Types(f Filter) (types map[string]bool, ok bool) {
	switch f := f.(type) {
	case *attrFilter:
		for _, t := range f.tests {
			if t.name == "type" && t.op == opExact {
				return map[string]bool{t.value: true}, true
			}
		}
	case allFilter:
		for _, m := range f {
			ts, pinned := Types(m)
			if !pinned {
				continue
			}
			if !ok {
				types, ok = ts, true
				continue
			}
			for t := range types {
				if !ts[t] {
					delete(types, t)
				}
			}
		}
		return types, ok
	case anyFilter:
		types = map[string]bool{}
		for _, m := range f {
			ts, pinned := Types(m)
			if !pinned {
				return nil, false
			}
			for t := range ts {
				types[t] = true
			}
		}
		return types, len(f) > 0
	}
	return nil, false
}
