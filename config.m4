dnl The classic build, as PIE and PECL drive it: phpize && ./configure && make && make install.
dnl ext-sse is Rust, so there are no C sources for phpize to compile: `make` runs cargo for the
dnl PHP that configure found (--with-php-config), and `make install` copies the result from
dnl modules/sse.so into that PHP's extension dir. Enable it with scripts/install.sh-style ini
dnl (extension=sse.so), or let PIE do it.

PHP_ARG_ENABLE([sse],
  [whether to enable ext-sse (Server-Sent Events)],
  [AS_HELP_STRING([--enable-sse], [Build ext-sse (needs cargo)])],
  [yes])

if test "$PHP_SSE" != "no"; then
  AC_PATH_PROG([CARGO], [cargo], [no], [$PATH:$HOME/.cargo/bin])
  if test "$CARGO" = "no"; then
    AC_MSG_ERROR([cargo not found: ext-sse is written in Rust; install it from https://rustup.rs])
  fi

  dnl The crate's build script and ext-php-rs read these to target the same PHP as configure;
  dnl ext-php-rs wants a path, not a bare command name (configure's default is `php-config`).
  SSE_PHP_CONFIG=`command -v "$PHP_CONFIG" 2>/dev/null || echo "$PHP_CONFIG"`
  PHP_SUBST(CARGO)
  PHP_SUBST(SSE_PHP_CONFIG)

  dnl Instead of PHP_NEW_EXTENSION (which would link C objects): one module, built by cargo.
  PHP_MODULES="$PHP_MODULES \$(phplibdir)/sse.so"
  dnl The one directory the build writes (configure creates those it is told of).
  PHP_ADD_BUILD_DIR([modules])
  PHP_ADD_MAKEFILE_FRAGMENT([$abs_srcdir/pie/Makefile.frag], [$abs_srcdir], [$abs_builddir])
fi
