# Every C file is as `make format` (clang-format, .clang-format) leaves it.
. tests/lib.sh
command -v clang-format >/dev/null || { not_ok "clang-format installed"; exit 1; }
files=$(git ls-files '*.c' '*.h' 2>/dev/null)
[ -n "$files" ] || files=$(find common worker frontend tests -name '*.[ch]')
for f in $files; do
    check "$f is clang-formatted" sh -c "clang-format --dry-run --Werror '$f' 2>/dev/null"
done
