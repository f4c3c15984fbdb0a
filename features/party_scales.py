"""Registry of the native Party-building rating scales, one per issuing area.

Each area rates Party organizations on its own scale (stars, letters, 100-point scores, tiers).
The registry records which standard each area issues and the ordered levels of every standard
(worst first), so the contract can reject a level that does not exist and the unification step
can build its cross-walk. It records no leniency: how lenient an area is must be learnt from
data, never assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class NativeStandard:
    """An ordinal rating scale as an area publishes it.

    Parameters
    ----------
    name : str
        Identifier used in the ``native_standard`` column.
    levels : tuple of str
        Every valid ``native_level`` value, worst first.
    description : str
        What the scale looks like in the field.
    """

    name: str
    levels: tuple[str, ...]
    description: str

    def rank(self, level: str) -> int:
        """Position of ``level`` on the scale (0 = worst)."""
        return self.levels.index(level)


STANDARDS: Final[dict[str, NativeStandard]] = {
    s.name: s
    for s in (
        NativeStandard("star5", tuple(str(i) for i in range(1, 6)), "one to five stars"),
        NativeStandard("letter4", ("B", "A", "AA", "AAA"), "letter grades B to AAA"),
        NativeStandard(
            "score100", tuple(str(i) for i in range(0, 101)), "integer score out of 100"
        ),
        NativeStandard(
            "tier4",
            ("rectify", "standard", "excellent", "pioneer"),
            "four tiers: 整改 / 达标 / 优秀 / 先锋",
        ),
        NativeStandard("grade3", ("poor", "fair", "good"), "three grades used outside the pilot"),
    )
}

#: The standard each issuing area uses. Two areas may share a scale yet differ in leniency.
AREA_STANDARD: Final[dict[str, str]] = {
    "wuxing": "star5",
    "nanxun": "letter4",
    "nantaihu": "score100",
    "deqing": "tier4",
    "changxing": "score100",
    "anji": "star5",
    "outside_pilot": "grade3",
}
