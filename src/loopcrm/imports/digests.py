"""Identity digests: the check for repeats inside a file, from hashes kept while the rows were cleaned.

The prepare step must find every row whose external id, phone or email another row of the file
has too. Asked of the staged rows, that is three GROUP BYs over the whole file (1-2 s each for a
million rows, on two cores). While staging, the cleaning already holds each row's cleaned
identities, so it hands back one 64-bit hash of each with the row number (28 bytes a row); prepare
then reads only the rows whose hash repeats (the real repeats, and the rare rows whose hashes
collide) and groups them by their real values, so the result is exactly what the GROUP BYs give.

Hashes are Python's `hash()`: the cleaning workers are forked from the importer, so every process
of one import shares its hash seed. The digests are only kept when one process stages the whole
file: a staging resumed after a crash, or a cancel, leaves them incomplete and prepare asks the
database instead.
"""

from __future__ import annotations

from array import array

IDENTITIES = ("external_id", "phone", "email")


def digest_part() -> tuple[array, array, array, array]:
    """Empty columns for one chunk of rows: row numbers, then a hash per identity (0: empty)."""
    return array("q"), array("q"), array("q"), array("q")


def add_row(part: tuple[array, array, array, array], row: int, values: dict) -> None:
    """One valid row's identities. A non-empty value hashes to 0 with odds of 2**-64; it is then taken
    for empty and its repeats are left to the match against customers."""
    rows, external_ids, phones, emails = part
    rows.append(row)
    value = values.get("external_id")
    external_ids.append(hash(value) if value else 0)
    value = values.get("phone")
    phones.append(hash(value) if value else 0)
    value = values.get("email")
    emails.append(hash(value) if value else 0)


class IdentityDigests:
    """The digests of one staging run, filled chunk by chunk, complete once the whole file is in."""

    def __init__(self) -> None:
        self.parts: list[tuple[array, array, array, array]] = []
        self.collecting = False
        self.complete = False

    def start(self, *, from_the_first_row: bool) -> None:
        self.parts.clear()
        self.collecting = from_the_first_row
        self.complete = False

    def add(self, part: tuple[array, array, array, array]) -> None:
        if self.collecting:
            self.parts.append(part)

    def finish(self) -> None:
        self.complete = self.collecting

    def __len__(self) -> int:
        return sum(len(part[0]) for part in self.parts)

    def candidate_rows(self) -> list[int]:
        """Row numbers whose hash of some identity another row shares: every real repeat is among them."""
        import numpy as np

        if not self.parts:
            return []
        rows = np.concatenate([np.frombuffer(part[0], dtype=np.int64) for part in self.parts])
        found = np.zeros(len(rows), dtype=bool)
        for column in range(1, len(IDENTITIES) + 1):
            hashes = np.concatenate([np.frombuffer(part[column], dtype=np.int64) for part in self.parts])
            order = np.argsort(hashes, kind="stable")
            ordered = hashes[order]
            same = (ordered[1:] == ordered[:-1]) & (ordered[1:] != 0)
            found[order[1:][same]] = True
            found[order[:-1][same]] = True
        return rows[found].tolist()
