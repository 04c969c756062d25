package manager

// SetArgon2Key replaces the argon2id function of m, so that a test can
// hold computations and count how many run at once.
func SetArgon2Key(m *Manager, f func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte) {
	m.argon2Key = f
}

// HashWaiting is how many callers of m wait for an argon2id slot.
func HashWaiting(m *Manager) int { return int(m.hashWaiting.Load()) }
