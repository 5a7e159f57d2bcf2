"""How hard a text is to read: the Flesch-Kincaid grade level, with a small syllable counter.

Grade = 0.39 x (words / sentences) + 11.8 x (syllables / words) - 15.59 (Kincaid, Fishburne,
Rogers & Chissom 1975, Naval Technical Training Command report 8-75). A grade is a US school
year; the reading age is about five years more (grade 7 = age 12).

Syllables are counted by rule (groups of vowels, a silent final "e" or "-ed" dropped), as
readability tools do; dictionaries differ on words such as "Australian", and so do tools.
Only words made of letters are counted; numbers are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")
SENTENCE_END = re.compile(r"[.!?]+(?=\s+[\"'“(]?[A-Z0-9]|\s*$)")
VOWEL_GROUPS = re.compile(r"[aeiouy]+")
#: Reading age is the US grade plus five years: a convention, not a formula of Flesch or
#: Kincaid. It takes the lower age of a grade (Wikipedia, "Flesch-Kincaid readability tests":
#: a ninth-grade level is 14-15 years of age), so the stated age errs young.
AGE_OFFSET = 5


def syllables(word: str) -> int:
    w = word.lower().strip("'’")
    if not w:
        return 0
    count = len(VOWEL_GROUPS.findall(w))
    silent_e = w.endswith("e") and not w.endswith(("le", "ee", "ye"))
    silent_ed = w.endswith("ed") and not w.endswith(("ted", "ded"))
    if count > 1 and (silent_e or silent_ed):
        count -= 1
    return max(count, 1)


@dataclass(frozen=True)
class Readability:
    words: int
    sentences: int
    syllables: int

    @property
    def grade(self) -> float:
        """Flesch-Kincaid grade level (0 for an empty text)."""
        if not self.words:
            return 0.0
        return (
            0.39 * self.words / max(self.sentences, 1) + 11.8 * self.syllables / self.words - 15.59
        )

    @property
    def reading_age(self) -> float:
        return self.grade + AGE_OFFSET


def measure(text: str) -> Readability:
    words = WORD.findall(text)
    sentences = len(SENTENCE_END.findall(text.strip())) or (1 if words else 0)
    return Readability(
        words=len(words), sentences=sentences, syllables=sum(syllables(w) for w in words)
    )
