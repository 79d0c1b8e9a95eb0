"""Read and write Cassandra's ``.POMDP`` file format (the format of pomdp-solve, SARSOP,
pomdp_py and R's pomdp).

The grammar follows pomdp-solve's documentation: a preamble (``discount``, ``values``,
``states``, ``actions``, ``observations``, each as a count or a list of names), an
optional ``start`` (probabilities, ``uniform``, one state, ``include:`` / ``exclude:``
lists), then ``T``, ``O`` and ``R`` entries with ``*`` wildcards, given element by
element, as rows or as whole matrices (``uniform``, ``identity``). Later entries
overwrite earlier ones.

skcrm's reward is the expected reward of the pre-action state,
``R[s, a] = sum_{s', o} T(s'|s,a) O(o|s',a) r(a, s, s', o)``: the value of every policy
is the same as with the file's ``r(a, s, s', o)``.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["read_pomdp", "write_pomdp"]

_KEYWORDS = {"discount", "values", "states", "actions", "observations", "start", "T", "O", "R"}
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def _tokens(text):
    text = re.sub(r"#[^\n]*", " ", text)
    return text.replace(":", " : ").split()


class _Reader:
    def __init__(self, text, path):
        self.tok = _tokens(text)
        self.i = 0
        self.path = path

    def error(self, msg):
        near = " ".join(self.tok[max(0, self.i - 4) : self.i + 4])
        return ValueError(f"{self.path}: {msg} (near: {near!r})")

    def peek(self, k=0):
        j = self.i + k
        return self.tok[j] if j < len(self.tok) else None

    def next(self):
        if self.i >= len(self.tok):
            raise self.error("unexpected end of file")
        t = self.tok[self.i]
        self.i += 1
        return t

    def expect(self, t):
        got = self.next()
        if got != t:
            raise self.error(f"expected {t!r}, got {got!r}")

    def numbers(self, n):
        out = np.empty(n)
        for k in range(n):
            t = self.next()
            if not _NUMBER.match(t):
                raise self.error(f"expected a number, got {t!r}")
            out[k] = float(t)
        return out


def _names(r, what):
    r.expect(":")
    first = r.next()
    if _NUMBER.match(first):
        n = int(first)
        if n < 1 or str(n) != first.lstrip("+"):
            raise r.error(f"{what}: expected a positive integer count, got {first!r}")
        return [str(k) for k in range(n)], False
    names = [first]
    while r.peek() is not None and r.peek() not in _KEYWORDS and r.peek(1) != ":":
        names.append(r.next())
    if len(set(names)) != len(names):
        raise r.error(f"{what}: duplicate names")
    return names, True


def _index(r, token, names, what):
    """Indices for a state/action/observation reference (name, number or ``*``)."""
    if token == "*":
        return np.arange(len(names))
    if token in names:
        return np.array([names.index(token)])
    if token.isdigit() and int(token) < len(names):
        return np.array([int(token)])
    raise r.error(f"unknown {what} {token!r}")


def read_pomdp(path):
    """Read a POMDP in Cassandra's ``.POMDP`` format.

    Parameters
    ----------
    path : str or path-like
        File to read (the format of pomdp-solve, SARSOP, pomdp_py and R's pomdp).

    Returns
    -------
    model : POMDPModel
        With ``state_names``, ``action_names`` and ``outcome_names`` from the file
        (numbers as strings when the file gives counts).
    initial_belief : ndarray of shape (K,)
        The ``start`` distribution (uniform when the file has none).

    Examples
    --------
    >>> import os, tempfile
    >>> text = '''discount: 0.75
    ... values: reward
    ... states: tiger-left tiger-right
    ... actions: listen open-left open-right
    ... observations: tiger-left tiger-right
    ... T: listen
    ... identity
    ... T: open-left
    ... uniform
    ... T: open-right
    ... uniform
    ... O: listen
    ... 0.85 0.15
    ... 0.15 0.85
    ... O: open-left
    ... uniform
    ... O: open-right
    ... uniform
    ... R: listen : * : * : * -1
    ... R: open-left : tiger-left : * : * -100
    ... R: open-left : tiger-right : * : * 10
    ... R: open-right : tiger-left : * : * 10
    ... R: open-right : tiger-right : * : * -100
    ... '''
    >>> path = os.path.join(tempfile.mkdtemp(), "tiger.POMDP")
    >>> with open(path, "w") as fh:
    ...     _ = fh.write(text)
    >>> model, b0 = read_pomdp(path)
    >>> model.reward.tolist(), b0.tolist()
    ([[-1.0, -100.0, 10.0], [-1.0, 10.0, -100.0]], [0.5, 0.5])
    """
    from ._model import POMDPModel

    with open(path) as fh:
        r = _Reader(fh.read(), str(path))
    pre = {}
    while r.peek() in ("discount", "values", "states", "actions", "observations"):
        key = r.next()
        if key in pre:
            raise r.error(f"{key!r} given twice")
        if key == "discount":
            r.expect(":")
            pre[key] = float(r.numbers(1)[0])
        elif key == "values":
            r.expect(":")
            v = r.next()
            if v not in ("reward", "cost"):
                raise r.error(f"values must be 'reward' or 'cost', got {v!r}")
            pre[key] = v
        else:
            pre[key] = _names(r, key)[0]
    missing = [k for k in ("discount", "states", "actions", "observations") if k not in pre]
    if missing:
        raise r.error(f"the preamble lacks {missing}")
    S, Acts, Obs = pre["states"], pre["actions"], pre["observations"]
    K, A, L = len(S), len(Acts), len(Obs)
    T = np.zeros((A, K, K))
    O = np.zeros((A, K, L))
    Rw = np.zeros((A, K, K, L))
    start = np.full(K, 1.0 / K)
    while r.peek() is not None:
        key = r.next()
        if key == "start":
            start = _start(r, S)
        elif key in ("T", "O"):
            _matrix_entry(r, key, T if key == "T" else O, S, Acts, Obs)
        elif key == "R":
            _reward_entry(r, Rw, S, Acts, Obs)
        else:
            raise r.error(f"unexpected {key!r}")
    if pre.get("values", "reward") == "cost":
        Rw = -Rw
    reward = np.einsum("asz,azo,aszo->sa", T, O, Rw)
    model = POMDPModel(T, O, reward, pre["discount"])
    model.state_names, model.action_names, model.outcome_names = S, Acts, Obs
    return model, start


def _start(r, S):
    K = len(S)
    nxt = r.next()
    if nxt in ("include", "exclude"):
        r.expect(":")
        chosen = []
        while r.peek() is not None and r.peek() not in _KEYWORDS:
            chosen.extend(_index(r, r.next(), S, "state").tolist())
        mask = np.zeros(K, dtype=bool)
        mask[chosen] = True
        if nxt == "exclude":
            mask = ~mask
        return mask / mask.sum()
    if nxt != ":":
        raise r.error(f"expected ':' after 'start', got {nxt!r}")
    t = r.peek()
    if t == "uniform":
        r.next()
        return np.full(K, 1.0 / K)
    if t in S or (t is not None and t.isdigit() and not _NUMBER.match(r.peek(1) or "x")):
        b = np.zeros(K)
        b[_index(r, r.next(), S, "state")] = 1.0
        return b
    b = r.numbers(K)
    if np.any(b < 0) or not np.isclose(b.sum(), 1.0, atol=1e-6):
        raise r.error("start probabilities must be non-negative and sum to 1")
    return b / b.sum()


def _specs(r, n_max):
    """Up to n_max ':'-separated references after an entry keyword."""
    r.expect(":")
    specs = [r.next()]
    while len(specs) < n_max and r.peek() == ":":
        r.next()
        specs.append(r.next())
    if r.peek() == ":":  # some files put a colon before the value
        r.next()
    return specs


def _matrix_entry(r, key, M, S, Acts, Obs):
    cols = S if key == "T" else Obs
    what = "state" if key == "T" else "observation"
    specs = _specs(r, 3)
    a = _index(r, specs[0], Acts, "action")
    if len(specs) == 3:
        s = _index(r, specs[1], S, "state")
        z = _index(r, specs[2], cols, what)
        M[np.ix_(a, s, z)] = r.numbers(1)[0]
    elif len(specs) == 2:
        s = _index(r, specs[1], S, "state")
        if r.peek() == "uniform":
            r.next()
            row = np.full(len(cols), 1.0 / len(cols))
        else:
            row = r.numbers(len(cols))
        M[np.ix_(a, s)] = row
    else:
        t = r.peek()
        if t == "uniform":
            r.next()
            mat = np.full((len(S), len(cols)), 1.0 / len(cols))
        elif t == "identity":
            if key != "T":
                raise r.error("'identity' is only defined for T")
            r.next()
            mat = np.eye(len(S))
        else:
            mat = r.numbers(len(S) * len(cols)).reshape(len(S), len(cols))
        M[a] = mat


def _reward_entry(r, Rw, S, Acts, Obs):
    specs = _specs(r, 4)
    a = _index(r, specs[0], Acts, "action")
    if len(specs) < 2:
        raise r.error("R needs at least an action and a start state")
    s = _index(r, specs[1], S, "state")
    if len(specs) == 4:
        z = _index(r, specs[2], S, "state")
        o = _index(r, specs[3], Obs, "observation")
        Rw[np.ix_(a, s, z, o)] = r.numbers(1)[0]
    elif len(specs) == 3:
        z = _index(r, specs[2], S, "state")
        Rw[np.ix_(a, s, z)] = r.numbers(len(Obs))
    else:
        Rw[np.ix_(a, s)] = r.numbers(len(S) * len(Obs)).reshape(len(S), len(Obs))


def _fmt(x):
    return repr(float(x))


def write_pomdp(model, path, *, initial_belief=None):
    """Write a :class:`POMDPModel` in Cassandra's ``.POMDP`` format.

    Transitions and observations are written as one matrix per action, rewards as
    ``R: a : s : * : * r`` (skcrm's reward depends on the action and the pre-action
    state), so :func:`read_pomdp` gives back the same arrays.

    Parameters
    ----------
    model : POMDPModel
        An infinite-horizon model (the format has no horizon).
    path : str or path-like
        File to write.
    initial_belief : array-like of shape (K,), optional
        Written as the ``start`` distribution.

    Examples
    --------
    >>> import os, tempfile
    >>> from skcrm.datasets import pomdp_tiger
    >>> from skcrm.pomdp import POMDPModel
    >>> path = os.path.join(tempfile.mkdtemp(), "tiger.POMDP")
    >>> write_pomdp(POMDPModel(*pomdp_tiger(), discount=0.95), path)
    >>> model, b0 = read_pomdp(path)
    >>> bool(np.allclose(model.transition, pomdp_tiger()[0])), model.discount
    (True, 0.95)
    """
    if model.horizon is not None:
        raise ValueError("the .POMDP format has no finite horizon; pass an infinite-horizon model")

    def names(attr, n, prefix):
        given = getattr(model, attr, None)
        ok = given is not None and len(given) == n
        ok = ok and all(isinstance(x, str) and re.match(r"^[A-Za-z_][\w\-.]*$", x) for x in given)
        return list(given) if ok else [f"{prefix}{k}" for k in range(n)]

    S = names("state_names", model.n_states, "s")
    Acts = names("action_names", model.n_actions, "a")
    Obs = names("outcome_names", model.n_outcomes, "o")
    lines = [
        "# written by skcrm.pomdp.write_pomdp",
        f"discount: {_fmt(model.discount)}",
        "values: reward",
        "states: " + " ".join(S),
        "actions: " + " ".join(Acts),
        "observations: " + " ".join(Obs),
    ]
    if initial_belief is not None:
        b = np.asarray(initial_belief, dtype=float)
        if b.shape != (model.n_states,):
            raise ValueError(f"initial_belief must have {model.n_states} entries, got {b.shape}")
        lines += ["start:", " ".join(_fmt(x) for x in b)]
    lines.append("")
    for key, M in (("T", model.transition), ("O", model.emission)):
        for a, name in enumerate(Acts):
            lines.append(f"{key}: {name}")
            lines += [" ".join(_fmt(x) for x in row) for row in M[a]]
            lines.append("")
    for a, an in enumerate(Acts):
        for s, sn in enumerate(S):
            lines.append(f"R: {an} : {sn} : * : * {_fmt(model.reward[s, a])}")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
