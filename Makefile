# Stepline: the two commands a fresh machine needs.
#   make run    install what is missing, then serve the dashboard on http://127.0.0.1:3000
#   make test   install what is missing, then run every test (Rust and end-to-end in Chromium)

.PHONY: run test setup tools e2e rust-test build clean

run: tools
	scripts/run.sh

test: tools
	scripts/test.sh

setup tools:
	scripts/install-tools.sh

rust-test:
	scripts/test.sh rust

e2e:
	scripts/test.sh e2e

clean:
	cargo clean
