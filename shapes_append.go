package tasktrack

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends t as encoding/json writes it with HTML escaping off,
// as the API does, byte for byte, without reflection: a page of tasks is
// the API's most frequent answer, and encoding it by reflection cost a
// fifth of the list's CPU (TestTaskJSONAppendMatchesEncodingJSON holds the
// two to the same bytes).
func (t *TaskJSON) AppendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, t.ID)
	b = append(b, `,"title":`...)
	b = appendJSONString(b, t.Title)
	b = append(b, `,"description":`...)
	b = appendJSONString(b, t.Description)
	b = append(b, `,"deadline":`...)
	b = t.Deadline.appendJSON(b)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, t.Status)
	b = append(b, `,"assigned_to":`...)
	b = strconv.AppendInt(b, t.AssignedTo, 10)
	b = append(b, `,"assigned_to_username":`...)
	b = appendJSONString(b, t.AssignedToUsername)
	b = append(b, `,"created_by":`...)
	if t.CreatedBy == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, *t.CreatedBy, 10)
	}
	b = append(b, `,"created_at":`...)
	b = t.CreatedAt.appendJSON(b)
	b = append(b, `,"updated_at":`...)
	b = t.UpdatedAt.appendJSON(b)
	b = append(b, `,"completed_at":`...)
	b = t.CompletedAt.appendOptJSON(b)
	b = append(b, `,"missed_at":`...)
	b = t.MissedAt.appendOptJSON(b)
	return append(b, '}')
}

func (t JSONTime) appendJSON(b []byte) []byte {
	b = append(b, '"')
	b = appendContractTime(b, time.Time(t))
	return append(b, '"')
}

// appendContractTime appends t as AppendFormat(contractTime) does, digit
// by digit instead of by reading the layout: a page of 20 tasks formats
// 80 times. Years outside 0-9999 take AppendFormat's way.
func appendContractTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, contractTime)
	}
	hour, minute, sec := t.Clock()
	mon, us := int(month), t.Nanosecond()/1000
	return append(b,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+mon/10), byte('0'+mon%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.',
		byte('0'+us/100000), byte('0'+us/10000%10), byte('0'+us/1000%10), byte('0'+us/100%10), byte('0'+us/10%10), byte('0'+us%10),
		'Z')
}

func (t *JSONTime) appendOptJSON(b []byte) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	return t.appendJSON(b)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json quotes it with HTML
// escaping off: \" and \\, the short escapes of \b \f \n \r \t, \u00XX for
// the other control characters, \ufffd for each byte of invalid UTF-8, and
// \u2028 and \u2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
