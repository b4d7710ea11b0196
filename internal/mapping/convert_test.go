package mapping

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConvert(t *testing.T) {
	tests := []struct {
		name    string
		typ     Type
		raw     any
		want    value
		absent  bool
		wantErr string
	}{
		{name: "nil is absent", typ: TypeString, raw: nil, absent: true},
		{name: "empty string is a string", typ: TypeString, raw: "", want: value{str: ""}},
		{name: "empty string is absent for a decimal", typ: TypeDecimal, raw: "", absent: true},
		{name: "empty string is absent for an int", typ: TypeInt, raw: "", absent: true},
		{name: "empty string is absent for a time", typ: TypeTime, raw: "", absent: true},

		{name: "string from float64 id", typ: TypeString, raw: float64(123456789), want: value{str: "123456789"}},
		{name: "string from json.Number", typ: TypeString, raw: json.Number("42"), want: value{str: "42"}},
		{name: "string from CEL int", typ: TypeString, raw: int64(-3), want: value{str: "-3"}},
		{name: "string rejects bool", typ: TypeString, raw: true, wantErr: "cannot convert bool true to string"},
		{name: "string rejects object", typ: TypeString, raw: map[string]any{}, wantErr: "cannot convert an object to string"},
		{name: "string rejects list", typ: TypeString, raw: []any{}, wantErr: "cannot convert a list to string"},

		{name: "decimal float64 1 is 1", typ: TypeDecimal, raw: float64(1), want: value{str: "1"}},
		{name: "decimal float64 fraction", typ: TypeDecimal, raw: 12.5, want: value{str: "12.5"}},
		{name: "decimal float64 negative zero", typ: TypeDecimal, raw: -0.0, want: value{str: "0"}},
		{name: "decimal 12.50 stays 12.50", typ: TypeDecimal, raw: "12.50", want: value{str: "12.50"}},
		{name: "decimal json.Number keeps precision", typ: TypeDecimal, raw: json.Number("19.990"), want: value{str: "19.990"}},
		{name: "decimal json.Number exponent", typ: TypeDecimal, raw: json.Number("1.25e2"), want: value{str: "125"}},
		{name: "decimal negative exponent", typ: TypeDecimal, raw: "-15E-3", want: value{str: "-0.015"}},
		{name: "decimal plus sign and leading zeros", typ: TypeDecimal, raw: "+007.10", want: value{str: "7.10"}},
		{name: "decimal bare fraction", typ: TypeDecimal, raw: ".5", want: value{str: "0.5"}},
		{name: "decimal trailing point", typ: TypeDecimal, raw: "5.", want: value{str: "5"}},
		{name: "decimal negative zero string", typ: TypeDecimal, raw: "-0.00", want: value{str: "0.00"}},
		{name: "decimal from CEL int", typ: TypeDecimal, raw: int64(7), want: value{str: "7"}},
		{name: "decimal rejects text", typ: TypeDecimal, raw: "abc", wantErr: `cannot convert "abc" to decimal`},
		{name: "decimal rejects currency symbol", typ: TypeDecimal, raw: "$12", wantErr: `cannot convert "$12" to decimal`},
		{name: "decimal rejects NaN", typ: TypeDecimal, raw: "NaN", wantErr: `cannot convert "NaN" to decimal`},
		{name: "decimal rejects huge exponent", typ: TypeDecimal, raw: "1e99999", wantErr: `cannot convert "1e99999" to decimal`},
		{name: "decimal rejects lone sign", typ: TypeDecimal, raw: "-", wantErr: `cannot convert "-" to decimal`},
		{name: "decimal rejects bool", typ: TypeDecimal, raw: false, wantErr: "cannot convert bool false to decimal"},

		{name: "int from float64", typ: TypeInt, raw: float64(3), want: value{i: 3}},
		{name: "int from string", typ: TypeInt, raw: "-12", want: value{i: -12}},
		{name: "int from integral decimal string", typ: TypeInt, raw: "5.00", want: value{i: 5}},
		{name: "int from json.Number exponent", typ: TypeInt, raw: json.Number("2e3"), want: value{i: 2000}},
		{name: "int rejects fraction", typ: TypeInt, raw: 1.5, wantErr: "cannot convert number 1.5 to int"},
		{name: "int rejects fractional string", typ: TypeInt, raw: "1.5", wantErr: `cannot convert "1.5" to int`},
		{name: "int rejects overflow", typ: TypeInt, raw: 1e19, wantErr: "cannot convert number 1e+19 to int: out of range"},
		{name: "int rejects overflowing string", typ: TypeInt, raw: "99999999999999999999", wantErr: `cannot convert "99999999999999999999" to int: out of range`},
		{name: "int rejects uint overflow", typ: TypeInt, raw: uint64(1 << 63), wantErr: "cannot convert number 9223372036854775808 to int: out of range"},
		{name: "int rejects text", typ: TypeInt, raw: "five", wantErr: `cannot convert "five" to int`},

		{name: "time from RFC 3339", typ: TypeTime, raw: "2024-04-30T10:15:00+02:00", want: value{t: time.Date(2024, 4, 30, 8, 15, 0, 0, time.UTC)}},
		{name: "time with fraction", typ: TypeTime, raw: "2024-04-30T08:15:00.5Z", want: value{t: time.Date(2024, 4, 30, 8, 15, 0, 5e8, time.UTC)}},
		{name: "time from CEL timestamp", typ: TypeTime, raw: time.Date(2024, 1, 1, 1, 0, 0, 0, time.FixedZone("X", 3600)), want: value{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{name: "time rejects date only", typ: TypeTime, raw: "2024-04-30", wantErr: `cannot convert "2024-04-30" to time (want RFC 3339`},
		{name: "time rejects number", typ: TypeTime, raw: float64(1714464900), wantErr: "cannot convert number 1.7144649e+09 to time"},

		{name: "bool from bool", typ: TypeBool, raw: true, want: value{b: true}},
		{name: "bool from string", typ: TypeBool, raw: "false", want: value{b: false}},
		{name: "bool from string 1", typ: TypeBool, raw: "1", want: value{b: true}},
		{name: "bool rejects text", typ: TypeBool, raw: "yes", wantErr: `cannot convert "yes" to bool`},
		{name: "bool rejects number", typ: TypeBool, raw: float64(1), wantErr: "cannot convert number 1 to bool"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, present, err := convert(tt.typ, tt.raw)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want prefix %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if present == tt.absent {
				t.Fatalf("present = %t, want %t", present, !tt.absent)
			}
			if got.str != tt.want.str || got.i != tt.want.i || got.b != tt.want.b || !got.t.Equal(tt.want.t) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if !tt.want.t.IsZero() && got.t.Location() != time.UTC {
				t.Errorf("time %v is not in UTC", got.t)
			}
		})
	}
}

func TestConvertOutOfRangeIsWrapped(t *testing.T) {
	_, _, err := convert(TypeInt, "1e30")
	if !errors.Is(err, errOutOfRange) {
		t.Errorf("error %v does not wrap errOutOfRange", err)
	}
}

func TestCanonicalDecimalKeepsCanonicalInput(t *testing.T) {
	for _, s := range []string{"0", "12.50", "-3", "0.001", "1234567890123456789012345678901234567890.5"} {
		got, ok := canonicalDecimal(s)
		if !ok || got != s {
			t.Errorf("canonicalDecimal(%q) = %q, %t", s, got, ok)
		}
		if allocs := testing.AllocsPerRun(10, func() { canonicalDecimal(s) }); allocs != 0 {
			t.Errorf("canonicalDecimal(%q) allocates %v times", s, allocs)
		}
	}
}
