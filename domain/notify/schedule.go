// Package notify sends the e-mail reminders and the weekly digest (issue 15): a queue in
// PostgreSQL whose unique key (kind, user, day) makes each e-mail happen once however many
// instances run the schedule, with the content read from the domain when the e-mail goes out.
package notify

import (
	"time"

	"github.com/bremen/regmo/domain"
)

// SendHour is the hour of the day, Europe/Berlin, at which reminders and the digest go out.
const SendHour = 7

// Kinds of e-mail.
const (
	KindReminder = "reminder"
	KindDigest   = "digest"
)

// ReminderDays are how many days ahead of a target date a reminder names it.
var ReminderDays = []int{30, 7, 1}

// Slot is the Berlin calendar day whose 07:00 has passed at the instant, and whether one has:
// before 07:00 the day's slot is still to come. A slot is not caught up on the next day, so
// an instance that was down all of Monday does not send Monday's reminder on Tuesday morning
// next to Tuesday's. Computing it in the Berlin calendar keeps 07:00 at 07:00 across the
// daylight-saving changes.
func Slot(at time.Time) (day string, ok bool) {
	local := at.In(domain.Berlin)
	if local.Hour() < SendHour {
		return "", false
	}
	return local.Format(time.DateOnly), true
}

// SlotTime is 07:00 Europe/Berlin on the day (YYYY-MM-DD).
func SlotTime(day string) time.Time {
	d, err := time.ParseInLocation(time.DateOnly, day, domain.Berlin)
	if err != nil {
		panic("notify: slot day " + day + ": " + err.Error())
	}
	return time.Date(d.Year(), d.Month(), d.Day(), SendHour, 0, 0, 0, domain.Berlin)
}

// addDays moves a day (YYYY-MM-DD) by n calendar days.
func addDays(day string, n int) string {
	return SlotTime(day).AddDate(0, 0, n).Format(time.DateOnly)
}

// isMonday reports whether the day is a Monday, the digest's day.
func isMonday(day string) bool { return SlotTime(day).Weekday() == time.Monday }

// DigestWeek is the week the digest of the Monday covers: from 07:00 of the Monday before
// to 07:00 of this one, in the Berlin calendar (167 or 169 hours in the weeks of a change).
func DigestWeek(monday string) (from, to time.Time) {
	to = SlotTime(monday)
	return to.AddDate(0, 0, -7), to
}
