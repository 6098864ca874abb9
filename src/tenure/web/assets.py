"""Copy the dashboard's third-party scripts into static/vendor (run at install, never at serve).

Plotly.js comes from the installed `plotly` package; htmx (and Swagger UI, for the API's
/docs page) from the npm registry through `npm pack` (pinned). Neither is committed: `static/vendor/` is git-ignored. Run it with
`python -m tenure.web.assets`; it is idempotent and skips files already present unless
`--force` is given.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib import resources
from pathlib import Path

from tenure.errors import ConfigError
from tenure.rendering.standalone import plotly_bundle

VENDOR_DIR = Path(__file__).parent / "static" / "vendor"
HTMX_PACKAGE = "htmx.org@2.0.11"
HTMX_MEMBER = "package/dist/htmx.min.js"
SWAGGER_PACKAGE = "swagger-ui-dist@5.32.0"
SWAGGER_MEMBERS = {
    "swagger-ui-bundle.js": "package/swagger-ui-bundle.js",
    "swagger-ui.css": "package/swagger-ui.css",
}
VENDOR_FILES = ("plotly.min.js", "plotly.css", "plotly-style-ids.txt", "htmx.min.js")
# Plotly.js injects its stylesheet with <style> elements, which a CSP without 'unsafe-inline'
# styles blocks; it skips that when an element with this id has the class no-inline-styles,
# so the same rules are written to plotly.css and linked with that id and class instead.
PLOTLY_RULES_START = '{"X,X div":'
# Bundled libraries (maplibre) inject their CSS unless an element with a given id exists; the
# dashboard puts empty elements with these ids in the page (it draws no maps).
STYLE_GUARD = re.compile(
    r'if\(!document\.getElementById\("([\w-]+)"\)\)\{var \w+=document\.createElement\("style"\)'
)


def missing_assets(vendor_dir: Path = VENDOR_DIR) -> list[str]:
    """Return the vendor files the dashboard needs that are not in vendor_dir."""
    return [name for name in VENDOR_FILES if not (vendor_dir / name).is_file()]


def copy_plotly(vendor_dir: Path) -> Path:
    """Copy plotly.min.js bundled with the `plotly` Python package into vendor_dir."""
    target = vendor_dir / "plotly.min.js"
    with resources.as_file(plotly_bundle()) as path:
        shutil.copyfile(path, target)
    return target


def _js_string(text: str, i: int) -> tuple[str, int]:
    """Return the JS string literal starting at text[i] and the index just after it."""
    quote, i, chars = text[i], i + 1, []
    while text[i] != quote:
        if text[i] == "\\":
            i += 1
        chars.append(text[i])
        i += 1
    return "".join(chars), i + 1


def _js_pairs(text: str, start: int) -> list[tuple[str, str]]:
    """Return the key/value pairs of a flat JS object literal of strings at text[start]."""
    pairs, i = [], start + 1
    while text[i] != "}":
        if text[i] in "'\"":
            key, i = _js_string(text, i)
        else:  # a minifier leaves identifier keys unquoted
            match = re.compile(r"[A-Za-z_$][\w$]*").match(text, i)
            if match is None:
                raise ConfigError(f"unexpected {text[i : i + 20]!r} in Plotly's style rules")
            key, i = match.group(0), match.end()
        value, i = _js_string(text, i + 1)  # skip the colon
        pairs.append((key, value))
        i += text[i] == ","
    return pairs


def plotly_css(bundle: str) -> str:
    """Return Plotly's own style rules (as it would inject them) as a stylesheet."""
    start = bundle.find(PLOTLY_RULES_START)
    if start < 0:
        raise ConfigError("cannot find Plotly's style rules in plotly.min.js")
    rules = []
    for selector, body in _js_pairs(bundle, start):
        full = re.sub(r"^,", " ,", selector)
        full = full.replace("X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")
        rules.append(f"{full}{{{body}}}")
    # Plotly inserts each rule at the top of its sheet, so the last rule comes first.
    return "\n".join(reversed(rules)) + "\n"


def write_plotly_css(vendor_dir: Path) -> Path:
    """Write vendor_dir/plotly.css and plotly-style-ids.txt from vendor_dir/plotly.min.js."""
    bundle = (vendor_dir / "plotly.min.js").read_text(encoding="utf-8")
    ids = sorted(set(STYLE_GUARD.findall(bundle)))
    (vendor_dir / "plotly-style-ids.txt").write_text("".join(f"{i}\n" for i in ids))
    target = vendor_dir / "plotly.css"
    target.write_text(plotly_css(bundle), encoding="utf-8")
    return target


def style_guard_ids(vendor_dir: Path = VENDOR_DIR) -> list[str]:
    """Return the ids whose presence stops bundled libraries from injecting <style> elements."""
    path = vendor_dir / "plotly-style-ids.txt"
    return path.read_text().split() if path.is_file() else []


def npm_files(vendor_dir: Path, package: str, members: dict[str, str]) -> list[Path]:
    """Run `npm pack PACKAGE` into a temp dir; extract each tarball member to vendor_dir/name."""
    npm = shutil.which("npm")
    if npm is None:
        raise ConfigError(
            f"npm is not installed: it is needed once to fetch {package} (apt install npm)"
        )
    with tempfile.TemporaryDirectory(prefix="tenure-npm-") as tmp:
        done = subprocess.run(
            [npm, "pack", package, "--silent", "--pack-destination", tmp],
            capture_output=True,
            text=True,
            check=False,
        )
        tarballs = sorted(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or not tarballs:
            raise ConfigError(f"npm pack {package} failed: {done.stderr.strip() or done.stdout}")
        written = []
        with tarfile.open(tarballs[0]) as archive:
            for name, path in members.items():
                member = archive.extractfile(path)
                if member is None:
                    raise ConfigError(f"{tarballs[0].name} has no {path}")
                target = vendor_dir / name
                target.write_bytes(member.read())
                written.append(target)
    return written


def fetch_htmx(vendor_dir: Path, package: str = HTMX_PACKAGE) -> Path:
    """Extract htmx's dist/htmx.min.js from its npm package into vendor_dir."""
    return npm_files(vendor_dir, package, {"htmx.min.js": HTMX_MEMBER})[0]


def fetch_swagger_ui(vendor_dir: Path, package: str = SWAGGER_PACKAGE) -> list[Path]:
    """Extract Swagger UI's bundle and stylesheet (for /docs) from its npm package."""
    return npm_files(vendor_dir, package, SWAGGER_MEMBERS)


def install_assets(vendor_dir: Path = VENDOR_DIR, *, force: bool = False) -> list[Path]:
    """Put every vendor file in place; return the ones written now."""
    vendor_dir.mkdir(parents=True, exist_ok=True)
    written = []
    if force or not (vendor_dir / "plotly.min.js").is_file():
        written.append(copy_plotly(vendor_dir))
    derived = ("plotly.css", "plotly-style-ids.txt")
    if force or written or any(not (vendor_dir / name).is_file() for name in derived):
        written.append(write_plotly_css(vendor_dir))
    if force or not (vendor_dir / "htmx.min.js").is_file():
        written.append(fetch_htmx(vendor_dir))
    if force or any(not (vendor_dir / name).is_file() for name in SWAGGER_MEMBERS):
        written.extend(fetch_swagger_ui(vendor_dir))
    return written


def main(argv: list[str] | None = None) -> int:
    """Install the dashboard's vendor scripts; print what was done."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="fetch again even if present")
    parser.add_argument("--dir", type=Path, default=VENDOR_DIR, help="target folder")
    args = parser.parse_args(argv)
    try:
        written = install_assets(args.dir, force=args.force)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ConfigError.exit_code
    for path in written:
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    if not written:
        print(f"dashboard assets already in {args.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
