# Conveniences; the README's two commands need none of this.

.PHONY: test screenshots bench

test:
	go test ./...

# Refresh the screenshots of the admin UI committed under docs/screenshots
# (needs Chromium: apt-get install -y chromium).
screenshots:
	PASSKEYD_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots go test ./cmd/passkeyd -run TestBrowserAdminJourney -count=1

bench:
	go run ./cmd/passkeyd bench --json bench-results.json
