"""A whitelist parser for loss formulas typed by a person, e.g. ``x**2 + 10*sin(y)``, evaluated with torch ops.

The text is parsed with ``ast.parse(mode="eval")`` and every node is checked against a whitelist before it is turned
into a tree of Python closures over torch functions; user text is never passed to ``eval``, ``exec`` or ``compile``.
The compiled formula broadcasts over tensors ``x`` and ``y`` of any shape, keeps their dtype and is differentiable
by autograd.

Accepted:

- finite int and float literals with ``|value| <= 1e12``; the names ``x``, ``y`` and the constants ``pi``, ``e``;
- binary ``+ - * / **``, unary ``+ -``, parentheses;
- calls with positional arguments to ``sin cos tan exp log sqrt abs tanh sinh cosh arcsin asin arccos acos arctan
  atan`` (one argument) and ``atan2 arctan2 min max pow`` (two; ``min``/``max`` are the elementwise
  ``torch.minimum``/``torch.maximum``).

Refused with a ``ValueError`` that quotes the offending part and its column (1-based): any other name, attributes,
subscripts, other calls, keyword or starred arguments, lambdas, strings and bytes, containers, comprehensions,
comparisons, boolean operators, conditional expressions, f-strings, assignment expressions, other operators, and
non-ASCII text. Resource bounds: at most ``MAX_LENGTH`` characters, parentheses nested at most ``MAX_DEPTH`` deep,
at most ``MAX_NODES`` expression nodes nested at most ``MAX_DEPTH`` deep.

The power rule: sub-expressions without ``x`` and ``y`` are folded at parse time in float64 torch arithmetic
(never Python big integers, so ``9**9**9`` cannot hang the parser). A constant exponent, in ``a ** b`` or
``pow(a, b)``, must be finite with ``|b| <= MAX_EXPONENT``; power towers are checked bottom-up, so ``9**9**9``
(= 9 ** 387420489) is refused at its outer exponent. An exponent that depends on ``x`` or ``y`` is allowed: its cost
is one elementwise ``torch.pow``, whatever its value. Folded constants must be finite (``1/0`` is refused).
Evaluation is one torch op per node, so its cost is bounded by ``MAX_NODES`` times the number of elements.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

MAX_LENGTH = 500
"""Longest formula text accepted, in characters."""
MAX_DEPTH = 50
"""Deepest nesting accepted, both of parentheses in the text and of nodes in the syntax tree."""
MAX_NODES = 200
"""Most expression nodes (names, literals, operators, calls) accepted."""
MAX_EXPONENT = 100.0
"""Largest |b| accepted for a constant exponent b."""
MAX_LITERAL = 1e12
"""Largest |value| accepted for a number literal."""

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
VARIABLES = ("x", "y")
UNARY_FUNCTIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "sin": torch.sin, "cos": torch.cos, "tan": torch.tan, "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt,
    "abs": torch.abs, "tanh": torch.tanh, "sinh": torch.sinh, "cosh": torch.cosh,
    "arcsin": torch.asin, "asin": torch.asin, "arccos": torch.acos, "acos": torch.acos,
    "arctan": torch.atan, "atan": torch.atan,
}  # fmt: skip
BINARY_FUNCTIONS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "atan2": torch.atan2, "arctan2": torch.atan2, "min": torch.minimum, "max": torch.maximum, "pow": torch.pow,
}  # fmt: skip
_OPERATORS: dict[type[ast.operator], Callable[[object, object], object]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}  # fmt: skip
_ALLOWED_NAMES = ", ".join((*VARIABLES, *CONSTANTS))
_ALLOWED_FUNCTIONS = ", ".join((*UNARY_FUNCTIONS, *BINARY_FUNCTIONS))
_ALLOWED_OPERATORS = "+ - * / ** (binary), + - (unary)"
_REFUSED: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access", ast.Subscript: "subscripts", ast.Lambda: "lambdas",
    ast.Compare: "comparisons", ast.BoolOp: "boolean operators", ast.IfExp: "conditional expressions",
    ast.ListComp: "comprehensions", ast.SetComp: "comprehensions", ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions", ast.JoinedStr: "f-strings", ast.FormattedValue: "f-strings",
    ast.Starred: "starred argument", ast.NamedExpr: "assignment expressions", ast.List: "lists",
    ast.Tuple: "tuples", ast.Set: "sets", ast.Dict: "dicts", ast.Slice: "slices",
}  # fmt: skip
_SNIPPET = 40

Value = float | Callable[[Tensor, Tensor], Tensor]
"""A compiled node: a folded constant, or a function of (x, y)."""


@dataclass(frozen=True)
class Formula:
    """A parsed formula: call it as ``formula(x, y)`` on tensors (broadcast together) to get a tensor.

    Built by ``parse_formula``; ``text`` is the formula as typed, ``uses_x``/``uses_y`` say which variables occur.
    A variable that does not occur gets no gradient (autograd leaves it ``None``, i.e. zero).
    """

    text: str
    uses_x: bool
    uses_y: bool
    _value: Value = field(repr=False, compare=False)

    def __call__(self, x: Tensor, y: Tensor) -> Tensor:
        x, y = torch.as_tensor(x), torch.as_tensor(y)
        shape = torch.broadcast_shapes(x.shape, y.shape)
        if not callable(self._value):
            return torch.full(shape, self._value, dtype=torch.result_type(x, y))
        out = self._value(x, y)
        return out if out.shape == shape else torch.broadcast_to(out, shape)


def parse_formula(text: str) -> Formula:
    """Parse ``text`` into a ``Formula``, or raise ``ValueError`` naming the refused part (see the module doc)."""
    if not isinstance(text, str):
        raise ValueError(f"formula: invalid text={text!r}; expected a string")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"formula: invalid length={len(text)}; valid range: length <= {MAX_LENGTH} characters")
    if not text.strip():
        raise ValueError("formula: the formula is empty; write an expression in x and y, e.g. x**2 + y**2")
    for column, char in enumerate(text, 1):
        if not (char.isascii() and (char.isprintable() or char in " \t")):
            raise ValueError(f"formula: character {char!r} at column {column} is not allowed; use plain ASCII")
    _check_parentheses(text)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        column = (error.offset or 1) + len(text) - len(text.lstrip())
        near = text[column - 1 : column - 1 + _SNIPPET] or "end of text"
        raise ValueError(f"formula: invalid syntax at column {column} (near {near!r}): {error.msg}") from None
    source = text.strip()
    _check_size(tree.body, source)
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    value = _Compiler(source, len(text) - len(text.lstrip())).compile(tree.body)
    return Formula(text=text, uses_x="x" in names, uses_y="y" in names, _value=value)


def _check_parentheses(text: str) -> None:
    """Refuse parentheses nested deeper than ``MAX_DEPTH`` (they leave no node in the tree, so count them here)."""
    depth = 0
    for column, char in enumerate(text, 1):
        depth += (char == "(") - (char == ")")
        if depth > MAX_DEPTH:
            raise ValueError(
                f"formula: parentheses nested deeper than {MAX_DEPTH} at column {column}; "
                f"valid range: depth <= {MAX_DEPTH}"
            )


def _check_size(root: ast.expr, source: str) -> None:
    """Refuse more than ``MAX_NODES`` expression nodes or nesting deeper than ``MAX_DEPTH`` (iteratively)."""
    count, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ValueError(
                f"formula: too many terms (more than {MAX_NODES} nodes); valid range: nodes <= {MAX_NODES}"
            )
        if depth > MAX_DEPTH:
            raise ValueError(
                f"formula: expression nested deeper than {MAX_DEPTH} at column {node.col_offset + 1}; "
                f"valid range: depth <= {MAX_DEPTH}"
            )
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr))


def _fold(function: Callable[..., object], *args: float) -> float:
    """Evaluate constant arguments in float64 torch arithmetic, exactly as a tensor evaluation would."""
    return float(function(*(torch.tensor(arg, dtype=torch.float64) for arg in args)))  # type: ignore[arg-type]


def _lift(value: Value) -> Callable[[Tensor, Tensor], object]:
    return value if callable(value) else (lambda x, y: value)


def _tensor_pair(a: object, b: object) -> tuple[Tensor, Tensor]:
    """Make a mixed (tensor, float) pair two tensors of the tensor's dtype, for ops that need tensors."""
    if not isinstance(a, Tensor):
        a = torch.tensor(a, dtype=b.dtype)  # type: ignore[union-attr]
    if not isinstance(b, Tensor):
        b = torch.tensor(b, dtype=a.dtype)
    return a, b


class _Compiler:
    """Turns a whitelisted tree into a ``Value``; ``offset`` maps columns of the stripped text to the original."""

    def __init__(self, source: str, offset: int) -> None:
        self.source, self.offset = source, offset

    def refuse(self, node: ast.AST, what: str, allowed: str) -> ValueError:
        snippet = ast.get_source_segment(self.source, node) or ""
        if len(snippet) > _SNIPPET:
            snippet = snippet[: _SNIPPET - 3] + "..."
        column = getattr(node, "col_offset", 0) + 1 + self.offset
        return ValueError(f"formula: {snippet!r} at column {column} is not allowed ({what}); {allowed}")

    def compile(self, node: ast.expr) -> Value:
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
            operand = self.compile(node.operand)
            if isinstance(node.op, ast.UAdd):
                return operand
            return -operand if not callable(operand) else (lambda x, y: -operand(x, y))
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return self.binary(node, _OPERATORS[type(node.op)], self.compile(node.left), self.compile(node.right))
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.UnaryOp | ast.BinOp):
            raise self.refuse(node, "operator", f"allowed operators: {_ALLOWED_OPERATORS}")
        raise self.refuse(node, _REFUSED.get(type(node), "this expression"), "write an expression in x and y")

    def constant(self, node: ast.Constant) -> float:
        value = node.value
        if isinstance(value, str | bytes):
            raise self.refuse(node, "string", "write numbers, x and y")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.refuse(node, "the literal", "write finite int or float numbers")
        if abs(value) > MAX_LITERAL or not math.isfinite(value):  # the bound first: math.isfinite(10**400) overflows
            raise self.refuse(node, "the number", f"valid range: |number| <= {MAX_LITERAL:g}")
        return float(value)

    def name(self, node: ast.Name) -> Value:
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id == "x":
            return lambda x, y: x
        if node.id == "y":
            return lambda x, y: y
        raise self.refuse(node, "unknown name", f"allowed names: {_ALLOWED_NAMES}")

    def binary(self, node: ast.AST, function: Callable[..., object], left: Value, right: Value) -> Value:
        constant_exponent = function in (operator.pow, torch.pow) and not callable(right)
        if constant_exponent and (not math.isfinite(right) or abs(right) > MAX_EXPONENT):
            exponent = node.args[1] if isinstance(node, ast.Call) else node.right  # type: ignore[attr-defined]
            raise self.refuse(exponent, f"exponent {right:g}", f"valid range: |exponent| <= {MAX_EXPONENT:g}")
        if not callable(left) and not callable(right):
            return self.folded(node, _fold(function, left, right))
        lhs, rhs = _lift(left), _lift(right)
        if function in _OPERATORS.values():
            return lambda x, y: function(lhs(x, y), rhs(x, y))
        return lambda x, y: function(*_tensor_pair(lhs(x, y), rhs(x, y)))

    def folded(self, node: ast.AST, value: float) -> float:
        if not math.isfinite(value):
            raise self.refuse(node, f"constant part = {value}", "constant parts must evaluate to finite numbers")
        return value

    def call(self, node: ast.Call) -> Value:
        if not isinstance(node.func, ast.Name):
            raise self.refuse(
                node.func, _REFUSED.get(type(node.func), "calling"), f"allowed functions: {_ALLOWED_FUNCTIONS}"
            )
        name = node.func.id
        if name not in UNARY_FUNCTIONS and name not in BINARY_FUNCTIONS:
            raise self.refuse(node.func, f"call to {name}", f"allowed functions: {_ALLOWED_FUNCTIONS}")
        if node.keywords:
            raise self.refuse(node, "keyword arguments", "pass arguments by position")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.refuse(arg, "starred argument", "pass arguments by position")
        arity = 1 if name in UNARY_FUNCTIONS else 2
        if len(node.args) != arity:
            plural = "argument" if arity == 1 else "arguments"
            raise self.refuse(node, f"{name} takes {arity} {plural}, got {len(node.args)}", "fix the arguments")
        args = [self.compile(arg) for arg in node.args]
        if arity == 2:
            return self.binary(node, BINARY_FUNCTIONS[name], args[0], args[1])
        function, (arg,) = UNARY_FUNCTIONS[name], args
        if not callable(arg):
            return self.folded(node, _fold(function, arg))
        return lambda x, y: function(arg(x, y))
