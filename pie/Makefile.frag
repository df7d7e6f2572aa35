# Appended to the Makefile that phpize's configure writes (see config.m4). cargo decides what
# needs rebuilding, so it is always asked; the copy lands where install-modules looks.
# CARGO_TARGET_DIR is honoured, so a build cache can live outside the source tree.
$(phplibdir)/sse.so: sse-cargo-build
	$(mkinstalldirs) $(phplibdir)
	cp "$${CARGO_TARGET_DIR:-$(srcdir)/target}/release/libsse.so" $@

sse-cargo-build:
	cd $(srcdir) && PHP_CONFIG="$(SSE_PHP_CONFIG)" PHP="$(PHP_EXECUTABLE)" "$(CARGO)" build --release

clean-sse:
	cd $(srcdir) && "$(CARGO)" clean

.PHONY: sse-cargo-build clean-sse

# make test: run-tests.php over tests/package/phpt with the module built here. Makefile.global
# reads each module's libtool .la file to name it, and this one is no libtool build.
PHP_TEST_SHARED_EXTENSIONS = -d extension=sse.so
TESTS = $(srcdir)/tests/package/phpt
