"""Markdown and LaTeX tables from :func:`.aggregate.table_numbers`: mean +-
standard error at each budget, the best in bold, the Wilcoxon signed-rank
p-value against the best (paired by seed) and the number of seeds."""
from __future__ import annotations

import re


def fmt_value(mean, se, decimals: int) -> tuple[str, str]:
    """("93.84", "0.03"); "-" when missing."""
    m = "-" if mean is None else f"{mean:.{decimals}f}"
    s = "-" if se is None else f"{se:.{decimals}f}"
    return m, s


def fmt_p(p) -> str:
    if p is None:
        return "-"
    return f"{p:.1e}" if p < 1e-3 else f"{p:.3f}"


def caption(numbers: dict) -> str:
    n = sorted(set(numbers["seeds"].values()))
    seeds = str(n[0]) if len(n) == 1 else f"{n[0]}-{n[-1]}"
    direction = "higher" if numbers["higher_is_better"] else "lower"
    return (f"{numbers['report_metric']} of the incumbent chosen by {numbers['search_metric']} on "
            f"{numbers['benchmark']} / {numbers['dataset']}: mean ± standard error over {seeds} seeds "
            f"({direction} is better; best in the table {numbers['optimum']:.{4}g}). p: two-sided Wilcoxon "
            f"signed-rank test against the best strategy of the column, paired by seed.")


_MD = {"\\": "\\\\", "&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "\\|", "*": "\\*", "`": "\\`",
       "[": "\\[", "]": "\\]", "~": "\\~", "\n": " ", "\r": " "}


def md_escape(text) -> str:
    """Text as Markdown shows it literally, also inside a table cell: HTML
    (``&``, ``<``, ``>``) as entities, Markdown's ``\\ | * ` [ ] ~`` escaped, ``_``
    escaped where it could start or end emphasis (not inside a word, so
    ``random_search`` stays as it is), line breaks as spaces. Labels come from
    the user (strategy and benchmark labels)."""
    text = str(text)
    out = []
    for i, ch in enumerate(text):
        if ch == "_":
            inside = 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum()
            out.append("_" if inside else "\\_")
        else:
            out.append(_MD.get(ch, ch))
    return "".join(out)


def md_code(text) -> str:
    """Text as a Markdown code span (shown literally; HTML is not read inside
    one), with a fence longer than any run of backticks in it."""
    text = " ".join(str(text).splitlines())
    fence = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def markdown(numbers: dict, decimals: int = 2) -> str:
    cols = numbers["columns"]
    head = ["strategy", "seeds"]
    align = ["---", "---:"]
    for c in cols:
        head += [md_escape(c["budget"]["label"]), "p"]
        align += ["---:", "---:"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    for s, n in numbers["seeds"].items():
        row = [md_escape(s), str(n)]
        for c in cols:
            v = c["strategies"][s]
            m, e = fmt_value(v["mean"], v["se"], decimals)
            cell = f"{m} ± {e}"
            row += [f"**{cell}**" if v["best"] else cell, fmt_p(v["p_value"])]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


_TEX = {"\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}",
        "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}", "\n": " ", "\r": " ",
        "±": r"$\pm$"}


def tex_escape(text) -> str:
    """Text as LaTeX typesets it literally (every special character escaped)."""
    return "".join(_TEX.get(ch, ch) for ch in str(text))


_tex_escape = tex_escape


def tex_label(text) -> str:
    """A ``\\label`` key made of ``text``: characters other than letters,
    digits and ``:-.`` become ``-`` (a key with ``\\``, ``{``, ``}``, ``%``, ``#``
    ... breaks the document or the reference)."""
    return re.sub(r"[^A-Za-z0-9:.\-]", "-", str(text))


def _tex_p(p) -> str:
    if p is None:
        return "--"
    if p < 1e-3:
        mant, exp = f"{p:.1e}".split("e")
        return f"${mant}\\times 10^{{{int(exp)}}}$"
    return f"{p:.3f}"


def latex(numbers: dict, decimals: int = 2, label: str = "tab:nas-comparison") -> str:
    """A booktabs table (``\\usepackage{booktabs}``)."""
    cols = numbers["columns"]
    spec = "lr" + "rr" * len(cols)
    budgets = " & ".join(f"\\multicolumn{{2}}{{c}}{{{_tex_escape(c['budget']['label'])}}}" for c in cols)
    rules = " ".join(f"\\cmidrule(lr){{{3 + 2 * i}-{4 + 2 * i}}}" for i in range(len(cols)))
    sub = " & ".join(["mean $\\pm$ s.e. & $p$"] * len(cols))
    out = [
        "\\begin{table}[t]", "\\centering", "\\small",
        f"\\caption{{{tex_escape(caption(numbers))}}}", f"\\label{{{tex_label(label)}}}",
        f"\\begin{{tabular}}{{{spec}}}", "\\toprule",
        f"Strategy & $n$ & {budgets} \\\\", rules, f" & & {sub} \\\\", "\\midrule",
    ]
    for s, n in numbers["seeds"].items():
        row = [_tex_escape(s), str(n)]
        for c in cols:
            v = c["strategies"][s]
            m, e = fmt_value(v["mean"], v["se"], decimals)
            cell = f"{m} \\pm {e}"
            row += [f"$\\mathbf{{{cell}}}$" if v["best"] else f"${cell}$", _tex_p(v["p_value"])]
        out.append(" & ".join(row) + " \\\\")
    out += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
    return "\n".join(out) + "\n"
