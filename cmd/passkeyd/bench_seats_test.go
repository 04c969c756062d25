package main

import (
	"math/rand/v2"
	"testing"
)

// Whatever order the workers take their enrollments in, a phase of n
// never asks for a user beyond need(n), and no user gets more than
// perUser passkeys.
func TestSeatsNeverRunOut(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ workers, perUser int }{{50, 5}, {3, 1}, {7, 3}, {4, 0}} {
		provisioned := 0
		s := newSeats(tc.workers, tc.perUser, func() int { return provisioned })
		made := map[int]int{}
		for phase := range 5 {
			n := 1 + rng.IntN(200)
			provisioned = s.need(n)
			for range n {
				// The busiest worker may do everything, or a few workers
				// share the phase unevenly.
				w := rng.IntN(tc.workers)
				if phase%2 == 1 {
					w = 0
				}
				u, err := s.take(w)
				if err != nil {
					t.Fatalf("%d workers, %d per user, phase %d of %d: %v", tc.workers, tc.perUser, phase, n, err)
				}
				made[u]++
				if tc.perUser > 0 && made[u] > tc.perUser {
					t.Fatalf("user %d got %d passkeys, more than %d", u, made[u], tc.perUser)
				}
			}
		}
	}
}
