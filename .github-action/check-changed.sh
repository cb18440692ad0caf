#!/usr/bin/env bash
# Run by action.yml: check the media files a pull request adds or changes (or INPUT_PATHS), print a
# text report and GitHub annotations, and write a SARIF report. Never fails itself on a failing file:
# it records preflight's exit code as the step's output, and action.yml decides after the upload.
set -uo pipefail

out="${RUNNER_TEMP:-/tmp}/preflight.sarif"
media='\.(mp4|m4v|mov|webm|mkv|avi|mpg|mpeg|jpg|jpeg|png|webp|gif|heic|heif|avif|bmp|tif|tiff)$'

files=()
if [ -n "${INPUT_PATHS:-}" ]; then
  read -r -a files <<< "$INPUT_PATHS"
elif [ -n "${BASE_SHA:-}" ]; then
  git fetch --quiet --depth=1 origin "$BASE_SHA" 2>/dev/null || true
  while IFS= read -r -d '' f; do
    [ -f "$f" ] && files+=("$f")
  done < <(git diff -z --name-only --diff-filter=ACMR "$BASE_SHA" "${HEAD_SHA:-HEAD}" | grep -z -i -E "$media")
else
  echo "not a pull request and no paths given: checking every media file in the repository"
  files=(.)
fi

if [ ${#files[@]} -eq 0 ]; then
  echo "no video or image files changed: nothing to check"
  echo "exit-code=0" >> "${GITHUB_OUTPUT:-/dev/null}"
  echo "sarif=" >> "${GITHUB_OUTPUT:-/dev/null}"
  exit 0
fi

args=(--fail-level "${INPUT_FAIL_LEVEL:-error}")
[ -n "${INPUT_RULES:-}" ] && args+=(--rules "$INPUT_RULES")

preflight check "${args[@]}" --format github -- "${files[@]}"
preflight check "${args[@]}" --format sarif -o "$out" -q -- "${files[@]}"
code=$?
echo "exit-code=$code" >> "${GITHUB_OUTPUT:-/dev/null}"
echo "sarif=$out" >> "${GITHUB_OUTPUT:-/dev/null}"
exit 0
