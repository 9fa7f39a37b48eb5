"""Every ```python block in the README and docs/ runs (blocks of one file run in order, sharing
names), so the documentation cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_every_page_the_readme_links_is_checked() -> None:
    """DOCS is found by a glob: a tree without docs/ (an sdist that left it out, a bug bash)
    shrank it to the README, and the examples' tests passed, checking none of the pages."""
    linked = set(re.findall(r"\]\((docs/[\w.-]+\.md)", (ROOT / "README.md").read_text("utf-8")))
    assert linked
    assert linked <= {str(p.relative_to(ROOT)) for p in DOCS}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_python_examples_run(doc: Path, tmp_path, monkeypatch) -> None:
    blocks = BLOCK.findall(doc.read_text(encoding="utf-8"))
    if not blocks:
        pytest.skip(f"{doc.name} has no python examples")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__doc_example__"}
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f"{doc.name}[block {i}]", "exec", dont_inherit=True), namespace)
        except Exception as exc:  # pragma: no cover - the failure message is the point
            raise AssertionError(f"{doc.name}, python block {i} failed: {exc!r}\n{code}") from exc


SHELL_BLOCK = re.compile(r"^```(?:bash|sh|console)\n(.*?)^```", re.S | re.M)
OPERATORS = {"&&", "||", ";", "&", "|", "(", ")"}


def shell_commands(doc: Path) -> list[list[str]]:
    """Each simple command of the doc's shell blocks, as argv, with comments, ``VAR=value``
    prefixes and shell keywords (``for ...; do``) taken off."""
    import shlex

    commands = []
    for block in SHELL_BLOCK.findall(doc.read_text(encoding="utf-8")):
        for line in block.replace("\\\n", " ").splitlines():
            # Not posix: quotes stay on the tokens, so a quoted ";" is no operator.
            lexer = shlex.shlex(line, posix=False, punctuation_chars=";&|()")
            lexer.whitespace_split = True
            lexer.commenters = "#"
            argv: list[str] = []
            for token in [*lexer, ";"]:
                if token not in OPERATORS:
                    argv.append(shlex.split(token)[0] if token[0] in "'\"" else token)
                    continue
                while argv and (re.fullmatch(r"[A-Z_]+=\S*", argv[0])
                                or argv[0] in ("do", "then", "else", "time")):
                    argv.pop(0)
                if argv:
                    commands.append(argv)
                argv = []
    return commands


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_shell_examples_name_real_commands_and_flags(doc: Path) -> None:
    """Every ``superconverge`` command in a shell block parses (no flag renamed or dropped under
    it, no value of the wrong type), and every ``python <script>.py`` names a script that is
    there: the blocks are not run, so nothing else would notice."""
    from superconverge.cli import build_parser

    commands = shell_commands(doc)
    checked = 0
    for argv in commands:
        if argv[0] == "superconverge":
            try:
                build_parser().parse_args(argv[1:])
            except SystemExit as exc:
                raise AssertionError(f"{doc.name}: {' '.join(argv)!r} does not parse") from exc
            checked += 1
        elif argv[0] in ("python", "python3") and argv[1].endswith(".py"):
            assert (ROOT / argv[1]).is_file(), f"{doc.name}: {argv[1]} is not in the repository"
            checked += 1
    if not checked:
        pytest.skip(f"{doc.name} has no superconverge or python-script commands")


def test_shell_commands_are_split_as_a_shell_would(tmp_path) -> None:
    doc = tmp_path / "example.md"
    doc.write_text("```bash\n# a comment\nA=1 B=2 superconverge x --y 'a b' --d \";\" && python "
                   "t.py -q # note\nfor i in 1 2; do superconverge z --out runs/$i -q & done; "
                   "wait\n```\n", encoding="utf-8")
    assert shell_commands(doc) == [
        ["superconverge", "x", "--y", "a b", "--d", ";"], ["python", "t.py", "-q"],
        ["for", "i", "in", "1", "2"], ["superconverge", "z", "--out", "runs/$i", "-q"],
        ["done"], ["wait"]]
