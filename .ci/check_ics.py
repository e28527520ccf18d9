#!/usr/bin/env python3
"""Check an iCalendar file with an independent parser (the Python `icalendar`
package): it parses, every event has a UID, a SEQUENCE and zoned start/end
times, and every TZID it uses is defined by a VTIMEZONE in the file.
Prints one line per event; exits non-zero on any problem."""
import sys

import icalendar


def main(path):
    with open(path, "rb") as f:
        cal = icalendar.Calendar.from_ical(f.read())
    zones = {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")}
    events = cal.walk("VEVENT")
    if not events:
        sys.exit(f"{path}: no VEVENT")
    for ev in events:
        for prop in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "SEQUENCE"):
            if prop not in ev:
                sys.exit(f"{path}: an event lacks {prop}")
        for prop in ("DTSTART", "DTEND"):
            tzid = ev[prop].params.get("TZID")
            if tzid is None or str(tzid) not in zones:
                sys.exit(f"{path}: {prop} uses TZID {tzid!r} with no VTIMEZONE")
            if ev.decoded(prop).tzinfo is None:
                sys.exit(f"{path}: {prop} has no time zone")
        start, end = ev.decoded("DTSTART"), ev.decoded("DTEND")
        if end <= start:
            sys.exit(f"{path}: the event ends before it starts")
        print(f"{ev['UID']} seq={ev['SEQUENCE']} {start.isoformat()} {ev['SUMMARY']} {ev.get('STATUS', '')}")


if __name__ == "__main__":
    main(sys.argv[1])
