# VoxFCGI. `make run` and `make test` are all a new machine needs (as root, they install
# what is missing).
SWIFT ?= swift
SWIFT_FLAGS ?=

.PHONY: run build release test unit e2e deps test-deps clean demo bench install

run: deps release
	scripts/run

deps:
	scripts/install-deps

test-deps:
	scripts/install-deps test

build: deps
	$(SWIFT) build $(SWIFT_FLAGS)

release: deps
	$(SWIFT) build -c release $(SWIFT_FLAGS)

## Unit tests (swift test), then the end-to-end and browser tests (pytest) against the
## debug build, through real nginx.
test: test-deps
	$(SWIFT) build --build-tests $(SWIFT_FLAGS)
	$(SWIFT) test --skip-build $(SWIFT_FLAGS)
	VOXFCGI_BIN=$$($(SWIFT) build --show-bin-path)/voxfcgi python3 -m pytest -q Tests/e2e

unit: test-deps
	$(SWIFT) test $(SWIFT_FLAGS)

e2e: test-deps build
	VOXFCGI_BIN=$$($(SWIFT) build --show-bin-path)/voxfcgi python3 -m pytest -q Tests/e2e

## Production (Debian 12, as root): a release build with the Swift runtime linked in (the server
## needs no toolchain), then scripts/install: user, /var/lib/voxfcgi, binary, static files, nginx
## site and snippets, systemd unit; enabled and started. Again to upgrade. See README.
install: deps
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path .build/static $(SWIFT_FLAGS)
	scripts/install --bin .build/static/release/voxfcgi $(INSTALL_FLAGS)

clean:
	rm -rf .build

## Benchmarks: seeds 1,000,000 calls once (cached in bench-data/), then prints each query's
## p50/p99 next to SQLite's answering the same query; webhook ingest next to nginx's 204; a
## 100 MB S3 upload next to `aws s3 cp`; a service-account token next to PyJWT's; transcript
## search at 1M transcripts next to SQLite FTS5. Writes bench-results.json.
bench: test-deps
	command -v wrk >/dev/null || apt-get install -y -qq wrk
	$(SWIFT) build -c release $(SWIFT_FLAGS)
	python3 bench/run.py
	python3 bench/webhook_bench.py bench-results.json
	python3 bench/upload_bench.py bench-results.json
	python3 bench/jwt_bench.py bench-results.json
	python3 bench/backup_bench.py bench-results.json
	python3 bench/metrics_bench.py bench-results.json
	python3 bench/search_bench.py bench-results.json
	python3 bench/pages_bench.py bench-results.json
	python3 bench/export_bench.py bench-results.json

## A living product for a first look: 20,000 demo calls for the first admin in ./data.
demo: release
	VOXFCGI_DATA_DIR=$${VOXFCGI_DATA_DIR:-./data} .build/release/voxfcgi first-admin
	VOXFCGI_DATA_DIR=$${VOXFCGI_DATA_DIR:-./data} .build/release/voxfcgi seed-demo --calls $${CALLS:-20000} --with-recordings
