#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fails when a file in src/<layer>/ (or include/vmbkit/<layer>/) includes a header of a higher
# layer. Layers, lowest first: wire memory ring channel bus kmcl. src/testing may include all.
set -euo pipefail
root=${1:-.}
layers=(wire memory ring channel bus kmcl)
rank() { local i; for i in "${!layers[@]}"; do [[ ${layers[$i]} == "$1" ]] && { echo "$i"; return; }; done; echo -1; }
status=0
for layer in "${layers[@]}"; do
  own=$(rank "$layer")
  for dir in "$root/src/$layer" "$root/include/vmbkit/$layer"; do
    [[ -d $dir ]] || continue
    while IFS= read -r -d '' file; do
      while IFS= read -r inc; do
        target=${inc#vmbkit/}
        target=${target%%/*}
        r=$(rank "$target")
        if (( r > own )); then
          echo "layering: $file includes \"$inc\" from higher layer '$target'"
          status=1
        fi
        if [[ $inc == kmcl.h || $inc == vmbkit/kmcl.h ]] && [[ $layer != kmcl ]]; then
          echo "layering: $file includes the C API header below the kmcl layer"
          status=1
        fi
      done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]\([^">]*\)[">].*/\1/p' "$file")
    done < <(find "$dir" \( -name '*.h' -o -name '*.cc' \) -print0)
  done
done
[[ $status == 0 ]] && echo "layering: every include points down the layer order"
exit $status
