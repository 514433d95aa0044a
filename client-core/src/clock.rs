//! Times as the chat shows them, written in Rust rather than by asking a
//! JS `Date` for strings: every chat item has a `<time>`, and a string
//! from JS costs a conversion into wasm memory each time (about a tenth of
//! what building an item took). Only the time zone's offset still comes
//! from the browser, as a number.

/// The furthest from the epoch a JS `Date` reaches (100,000,000 days);
/// beyond it `toISOString` throws.
pub const MAX_MS: u64 = 8_640_000_000_000_000;

const MS_PER_DAY: i64 = 86_400_000;

/// A moment's calendar date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    /// Milliseconds into the day.
    ms_of_day: u32,
}

/// The calendar date and time of day `ms` milliseconds after the epoch
/// (negative: before it), proleptic Gregorian.
fn civil(ms: i64) -> Civil {
    let days = ms.div_euclid(MS_PER_DAY);
    let ms_of_day = ms.rem_euclid(MS_PER_DAY) as u32;
    // Counted in 400-year eras that begin on 1 March 0000, so the leap
    // day falls at the end of each (shifted) year.
    let since_0000_03_01 = days + 719_468;
    let era = since_0000_03_01.div_euclid(146_097);
    let day_of_era = since_0000_03_01.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months from March: 0 is March, 11 is February.
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        ms_of_day,
    }
}

/// `ms` after the epoch in ISO 8601, UTC, as JavaScript's
/// `Date.prototype.toISOString` writes it (six-digit years past 9999);
/// empty beyond what a `Date` can hold, where that would throw.
pub fn iso_utc(ms: u64) -> String {
    if ms > MAX_MS {
        return String::new();
    }
    let c = civil(ms as i64);
    let t = c.ms_of_day;
    let (h, m, s, milli) = (t / 3_600_000, t / 60_000 % 60, t / 1_000 % 60, t % 1_000);
    let year = if c.year <= 9_999 {
        format!("{:04}", c.year)
    } else {
        format!("+{:06}", c.year)
    };
    format!(
        "{year}-{:02}-{:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z",
        c.month, c.day
    )
}

/// `HH:MM` of `ms` after the epoch where the clock is `offset_ms`
/// milliseconds behind UTC (JavaScript's `getTimezoneOffset` in ms:
/// -3,600,000 in Paris in winter; not always whole minutes, as for dates
/// in local mean time); empty beyond what a `Date` can hold.
pub fn hhmm(ms: u64, offset_ms: i64) -> String {
    if ms > MAX_MS {
        return String::new();
    }
    let local = ms as i64 - offset_ms;
    let minutes = local.rem_euclid(MS_PER_DAY) / 60_000;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values `new Date(ms).toISOString()` gives (Node and Chromium).
    const ISO: &[(u64, &str)] = &[
        (0, "1970-01-01T00:00:00.000Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (1_709_164_800_000, "2024-02-29T00:00:00.000Z"),
        (1_733_270_400_123, "2024-12-04T00:00:00.123Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
        (253_402_300_800_000, "+010000-01-01T00:00:00.000Z"),
        (MAX_MS, "+275760-09-13T00:00:00.000Z"),
    ];

    #[test]
    fn iso_matches_javascript() {
        for (ms, want) in ISO {
            assert_eq!(iso_utc(*ms), *want, "{ms}");
        }
        assert_eq!(iso_utc(MAX_MS + 1), "");
        assert_eq!(iso_utc(u64::MAX), "");
    }

    #[test]
    fn every_day_of_four_centuries_follows_the_one_before() {
        // 1 March 2000 to 1 March 2400: the 100- and 400-year rules.
        let first = civil(11_017 * MS_PER_DAY);
        assert_eq!((first.year, first.month, first.day), (2000, 3, 1));
        let mut prev = first;
        for day in 11_018..11_018 + 146_097 {
            let c = civil(day * MS_PER_DAY);
            let month_len = match prev.month {
                2 if prev.year % 4 == 0 && (prev.year % 100 != 0 || prev.year % 400 == 0) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            let want = if prev.day < month_len {
                (prev.year, prev.month, prev.day + 1)
            } else if prev.month < 12 {
                (prev.year, prev.month + 1, 1)
            } else {
                (prev.year + 1, 1, 1)
            };
            assert_eq!((c.year, c.month, c.day), want, "day {day}");
            prev = c;
        }
        assert_eq!((prev.year, prev.month, prev.day), (2400, 3, 1));
    }

    #[test]
    fn before_the_epoch_counts_back() {
        let c = civil(-1);
        assert_eq!(
            (c.year, c.month, c.day, c.ms_of_day),
            (1969, 12, 31, 86_399_999)
        );
    }

    #[test]
    fn hhmm_follows_the_offset() {
        // 2024-12-04T23:45:30Z
        let ms = 1_733_355_930_000;
        let min = 60_000;
        assert_eq!(hhmm(ms, 0), "23:45");
        // Paris in winter (UTC+1): past midnight.
        assert_eq!(hhmm(ms, -60 * min), "00:45");
        // New York in winter (UTC-5).
        assert_eq!(hhmm(ms, 300 * min), "18:45");
        // India (UTC+5:30).
        assert_eq!(hhmm(ms, -330 * min), "05:15");
        // Paris's local mean time before 1911 (UTC+0:09:21): the seconds
        // count. 23:50:30 UTC is 23:59:51 there, 23:51:00 is 00:00:21.
        let lmt = -(9 * min + 21_000);
        assert_eq!(hhmm(1_733_356_230_000, lmt), "23:59");
        assert_eq!(hhmm(1_733_356_260_000, lmt), "00:00");
        // Just after the epoch, west of UTC: the day before.
        assert_eq!(hhmm(0, 60 * min), "23:00");
        assert_eq!(hhmm(MAX_MS + 1, 0), "");
    }
}
