"""Demo phone numbers: valid mainland mobiles and landlines and foreign mobiles, in E.164 with the raw form beside.

Numbers are unique within one load; the raw form varies the way people actually type numbers.
"""

from __future__ import annotations

import random

import phonenumbers

from loopcrm.demo.geography import CN_MOBILE_PREFIXES, Abroad, City


class PhoneBook:
    """Hands out numbers that were not handed out before (in this load)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _unique(self, make, *, check: bool = False) -> tuple[str, str]:
        for _attempt in range(1000):
            e164, raw = make()
            if e164 in self.used:
                continue
            # Mobile prefixes are all valid; landline and foreign number plans have gaps, so ask phonenumbers.
            if check and not phonenumbers.is_valid_number(phonenumbers.parse(e164)):
                continue
            self.used.add(e164)
            return e164, raw
        raise RuntimeError(f"No valid, unused phone number like {e164} after 1,000 attempts.")

    def cn_mobile(self) -> tuple[str, str]:
        rng = self.rng

        def make() -> tuple[str, str]:
            digits = rng.choice(CN_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
            style = rng.random()
            if style < 0.55:
                raw = digits
            elif style < 0.75:
                raw = f"{digits[:3]} {digits[3:7]} {digits[7:]}"
            elif style < 0.9:
                raw = f"+86 {digits}"
            else:
                raw = f"+86-{digits[:3]}-{digits[3:7]}-{digits[7:]}"
            return f"+86{digits}", raw

        return self._unique(make)

    def cn_landline(self, city: City) -> tuple[str, str]:
        rng = self.rng

        def make() -> tuple[str, str]:
            rest = city.local_digits - 1
            local = f"{rng.randint(2, 8)}{rng.randrange(10**rest):0{rest}d}"
            raw = (f"0{city.area_code}-{local}" if rng.random() < 0.7
                   else f"(0{city.area_code}) {local[:4]} {local[4:]}")
            return f"+86{city.area_code}{local}", raw

        return self._unique(make, check=True)

    def abroad(self, place: Abroad) -> tuple[str, str]:
        rng = self.rng

        def make() -> tuple[str, str]:
            prefix = rng.choice(place.mobile)
            if place.dial == "1":  # NANP: area code, exchange (not N11, not 555), line
                exchange = f"{rng.randint(2, 9)}{rng.randrange(100):02d}"
                while exchange[1:] == "11" or exchange == "555":
                    exchange = f"{rng.randint(2, 9)}{rng.randrange(100):02d}"
                national = f"{prefix}{exchange}{rng.randrange(10**4):04d}"
                raw = (f"({national[:3]}) {national[3:6]}-{national[6:]}" if rng.random() < 0.6
                       else f"+1 {national[:3]}-{national[3:6]}-{national[6:]}")
            else:
                rest = place.national_length - len(prefix)
                national = prefix + f"{rng.randrange(10**rest):0{rest}d}"
                half = len(national) // 2
                raw = f"+{place.dial} {national[:half]} {national[half:]}"
            return f"+{place.dial}{national}", raw

        return self._unique(make, check=True)
