package wallet

// DecimalLua is decimal.lua, for the test that checks its arithmetic against Go's.
func DecimalLua() string {
	b, err := luaFS.ReadFile("lua/decimal.lua")
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Records is how many reservation records (open and settled) a Memory wallet holds.
func (m *Memory) Records() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.res)
}
