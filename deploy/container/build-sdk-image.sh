#!/usr/bin/env bash
# Assembles the build-stage base image `localhost/gatehouse-sdk:10.0` from what is installed on this Debian machine:
# the files of the Debian packages a Native AOT publish needs (clang + binutils as the linker, the C library and
# zlib headers, bash/coreutils for RUN steps, OpenSSL + CA certificates for NuGet), plus the .NET SDK found beside
# `dotnet`. For machines that cannot pull mcr.microsoft.com/dotnet/sdk (air-gapped CI, mirrors without it); with
# registry access, skip this script and build with the default SDK_IMAGE (docs/deployment/container.md).
#
# Usage: deploy/container/build-sdk-image.sh [IMAGE]      (needs podman and dpkg; root or rootless podman)
set -euo pipefail
image="${1:-localhost/gatehouse-sdk:10.0}"
command -v podman >/dev/null || { echo "podman is required" >&2; exit 2; }
command -v dpkg-query >/dev/null || { echo "dpkg is required (this script reads a Debian system)" >&2; exit 2; }
dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
[ -x "$dotnet_root/dotnet" ] || { echo "no .NET SDK found (dotnet not on PATH)" >&2; exit 2; }

# The packages named here and every package they depend on (installed ones only; Recommends not followed).
wanted=(bash dash coreutils findutils grep sed mawk tar gzip libc-bin libc6-dev clang zlib1g-dev binutils
        libssl3 ca-certificates libicu72 libstdc++6 libgcc-s1)
packages=$(apt-cache depends --recurse --installed --no-recommends --no-suggests --no-conflicts --no-breaks \
             --no-replaces --no-enhances "${wanted[@]}" 2>/dev/null | grep -E '^[a-z0-9]' | sort -u)
installed=()
for p in $packages; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ]; then installed+=("$p"); fi
done

list=$(mktemp); trap 'rm -f "$list"' EXIT
# Each file with its directory's symlinks resolved (Debian 12 merges /bin, /lib into /usr): the image gets the same
# top-level symlinks, so a path listed as /lib/… lands in /usr/lib/… exactly once.
dpkg -L "${installed[@]}" 2>/dev/null | while read -r f; do
  [ -e "$f" ] || [ -L "$f" ] || continue
  [ -d "$f" ] && [ ! -L "$f" ] && continue
  printf '%s/%s\n' "$(readlink -f "$(dirname "$f")")" "$(basename "$f")"
done | sed 's|^/||' > "$list"
{ echo etc/ssl/certs; echo "${dotnet_root#/}"; echo etc/ld.so.cache; } >> "$list"
sort -u -o "$list" "$list"

stage=$(mktemp -d); trap 'rm -f "$list"; rm -rf "$stage"' EXIT
mkdir -p "$stage/tmp" "$stage/root" "$stage/etc" "$stage/usr/bin"
chmod 1777 "$stage/tmp"
for link in bin lib lib64 sbin; do [ -L "/$link" ] && ln -s "$(readlink "/$link")" "$stage/$link"; done
ln -s "/${dotnet_root#/}/dotnet" "$stage/usr/bin/dotnet"
# Debian's alternatives links (awk → mawk) belong to no package's file list.
for alt in awk; do [ -e "/usr/bin/$alt" ] && ln -s "$(readlink -f "/usr/bin/$alt")" "$stage/usr/bin/$alt"; done
printf 'root:x:0:0:root:/root:/bin/bash\n' > "$stage/etc/passwd"
printf 'root:x:0:\n' > "$stage/etc/group"
# The host's files first, then the staged skeleton (symlinks, passwd) on top.
tar -C / --no-recursion -T <(grep -v -E '^(etc/passwd|etc/group)$' "$list" | while read -r p; do
      # directories named explicitly (the SDK, the certificate directory) are taken whole
      if [ -d "/$p" ] && [ ! -L "/$p" ]; then find "/$p" | sed 's|^/||'; else echo "$p"; fi
    done) -cf - 2>/dev/null \
  | tar -C "$stage" -xf - --keep-directory-symlink
tar -C "$stage" -cf - . | podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV DOTNET_ROOT=/${dotnet_root#/}" \
  --change 'ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1' \
  --change 'ENV HOME=/root' \
  --change 'WORKDIR /src' \
  --change 'CMD ["/bin/bash"]' \
  - "$image" >/dev/null
echo "$image: ${#installed[@]} Debian packages + $(dotnet --version 2>/dev/null || echo '?') SDK from $dotnet_root"
