# Sourced by scripts/php-root.sh and tests/package/deb_check.sh: debian_mirror prints the Debian
# mirror apt on this machine uses (deb822 .sources or one-line .list files), without a trailing
# slash; it fails with a message when there is none.
debian_mirror() {
  local uri
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n' | grep -E '/debian/?$' | head -n 1 || true)
  [ -n "$uri" ] || uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | sed -nE 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+\/debian\/?)[[:space:]].*/\2/p' | head -n 1 || true)
  [ -n "$uri" ] || { echo "no Debian mirror found in /etc/apt/sources.list*" >&2; return 1; }
  echo "${uri%/}"
}
