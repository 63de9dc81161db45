"""The calendars area: the week view, the private iCalendar feed and a booking's .ics file."""

__all__: list[str] = []
