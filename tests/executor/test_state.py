"""ExecState: rollback restores exactly, block updates are exactly the net changes (DESIGN §5)."""
from __future__ import annotations

import struct
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from executor.state import ExecState, Table
from statetree import StateTree


@dataclass(frozen=True)
class Counter:
    value: int

    def encode(self) -> bytes:
        return struct.pack(">Q", self.value)

    @classmethod
    def decode(cls, raw: bytes) -> "Counter":
        return cls(struct.unpack(">Q", raw)[0])


VAULTS = Table("vault", Counter)
USERS = [bytes([i]) * 32 for i in range(4)]

ops = st.lists(
    st.tuples(st.sampled_from(["put", "delete", "tx_ok", "tx_fail", "block"]),
              st.integers(0, 3), st.integers(0, 1000)),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(program=ops)
def test_state_matches_a_dict_model_across_rollbacks_and_blocks(tmp_path_factory, program):
    tree = StateTree(str(tmp_path_factory.mktemp("db")))
    state = ExecState(tree)
    committed: dict[int, int] = {}   # what the tree holds
    model: dict[int, int] = {}       # what the state should show
    height = 0
    for op, user, value in program:
        if op in ("put", "delete"):
            rec = Counter(value) if op == "put" else None
            state.put(VAULTS, (USERS[user], 1), rec)
            state.release(0)
            if rec is None:
                model.pop(user, None)
            else:
                model[user] = value
        elif op in ("tx_ok", "tx_fail"):
            sp = state.savepoint()
            state.put(VAULTS, (USERS[user], 1), Counter(value))
            state.put(VAULTS, (USERS[(user + 1) % 4], 1), None)
            if op == "tx_fail":
                state.rollback(sp)
            else:
                state.release(sp)
                model[user] = value
                model.pop((user + 1) % 4, None)
        else:
            updates = state.take_updates()
            # Only keys whose value differs from the tree need to be written, but every
            # written value must be the model's.
            for i, u in enumerate(USERS):
                k = VAULTS.key(u, 1)
                if k in updates:
                    assert updates[k] == (None if i not in model else Counter(model[i]).encode())
            height += 1
            tree.apply(height, updates)
            committed = dict(model)
        for i, u in enumerate(USERS):
            got = state.get(VAULTS, u, 1)
            assert (got.value if got else None) == model.get(i)
    # A fresh state over the same tree sees exactly the committed records.
    fresh = ExecState(tree)
    for i, u in enumerate(USERS):
        got = fresh.get(VAULTS, u, 1)
        assert (got.value if got else None) == committed.get(i)
    tree.close()


def test_rollback_of_a_never_dirty_key_leaves_no_update(tmp_path):
    tree = StateTree(str(tmp_path / "db"))
    state = ExecState(tree)
    sp = state.savepoint()
    state.put(VAULTS, (USERS[0], 1), Counter(5))
    state.rollback(sp)
    assert state.take_updates() == {}
    tree.close()


def test_take_updates_refuses_an_open_transaction(tmp_path):
    tree = StateTree(str(tmp_path / "db"))
    state = ExecState(tree)
    state.savepoint()
    state.put(VAULTS, (USERS[0], 1), Counter(5))
    try:
        state.take_updates()
    except RuntimeError:
        pass
    else:
        raise AssertionError("take_updates must refuse while a transaction is open")
    tree.close()
