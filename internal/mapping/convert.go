package mapping

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxExponent bounds the exponent of a numeric string, so that "1e999999999" cannot expand into a huge
// decimal string.
const maxExponent = 1000

// errOutOfRange is wrapped by conversions of numbers too large for an int64.
var errOutOfRange = errors.New("out of range")

// convert converts a raw value (as JSON decodes it, or as fromCEL returns it) to the field type t.
// present is false when the value is missing: nil, or an empty string for a non-string type (platforms
// often send "" for an unset price or date).
func convert(t Type, raw any) (v value, present bool, err error) {
	if raw == nil {
		return value{}, false, nil
	}
	if s, ok := raw.(string); ok && s == "" && t != TypeString {
		return value{}, false, nil
	}
	switch t {
	case TypeString:
		v.str, err = toString(raw)
	case TypeInt:
		v.i, err = toInt(raw)
	case TypeDecimal:
		v.str, err = toDecimal(raw)
	case TypeTime:
		v.t, err = toTime(raw)
	case TypeBool:
		v.b, err = toBool(raw)
	default:
		err = fmt.Errorf("unknown field type %q", t)
	}
	if err != nil {
		return value{}, false, err
	}
	return v, true, nil
}

func toString(raw any) (string, error) {
	switch x := raw.(type) {
	case string:
		return x, nil
	case json.Number:
		return string(x), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", cannotConvert(raw, TypeString)
		}
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case int:
		return strconv.Itoa(x), nil
	}
	return "", cannotConvert(raw, TypeString)
}

func toInt(raw any) (int64, error) {
	switch x := raw.(type) {
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) {
			return 0, cannotConvert(raw, TypeInt)
		}
		// 2^63 is exactly representable; every float64 below it and at or above -2^63 fits an int64.
		if x < -(1<<63) || x >= 1<<63 {
			return 0, fmt.Errorf("%w: %w", cannotConvert(raw, TypeInt), errOutOfRange)
		}
		return int64(x), nil
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return 0, fmt.Errorf("%w: %w", cannotConvert(raw, TypeInt), errOutOfRange)
		}
		return int64(x), nil
	case string:
		return parseInt(x, raw)
	case json.Number:
		return parseInt(string(x), raw)
	}
	return 0, cannotConvert(raw, TypeInt)
}

// parseInt parses an integral numeric string: "42", "-7", "5.00" or "1e3".
func parseInt(s string, raw any) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	d, ok := canonicalDecimal(s)
	if !ok {
		return 0, cannotConvert(raw, TypeInt)
	}
	if dot := strings.IndexByte(d, '.'); dot >= 0 {
		if strings.Trim(d[dot+1:], "0") != "" {
			return 0, cannotConvert(raw, TypeInt)
		}
		d = d[:dot]
	}
	n, err := strconv.ParseInt(d, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", cannotConvert(raw, TypeInt), errOutOfRange)
	}
	return n, nil
}

func toDecimal(raw any) (string, error) {
	switch x := raw.(type) {
	case string:
		if d, ok := canonicalDecimal(x); ok {
			return d, nil
		}
	case json.Number:
		if d, ok := canonicalDecimal(string(x)); ok {
			return d, nil
		}
	case float64:
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			if x == 0 {
				return "0", nil // also normalises -0
			}
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		}
	case int64:
		return strconv.FormatInt(x, 10), nil
	case int:
		return strconv.Itoa(x), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	}
	return "", cannotConvert(raw, TypeDecimal)
}

func toTime(raw any) (time.Time, error) {
	switch x := raw.(type) {
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return time.Time{}, fmt.Errorf("%w (want RFC 3339, for example 2024-01-31T15:04:05Z)", cannotConvert(raw, TypeTime))
		}
		return t.UTC(), nil
	case time.Time:
		return x.UTC(), nil
	}
	return time.Time{}, cannotConvert(raw, TypeTime)
}

func toBool(raw any) (bool, error) {
	switch x := raw.(type) {
	case bool:
		return x, nil
	case string:
		if b, err := strconv.ParseBool(x); err == nil {
			return b, nil
		}
	}
	return false, cannotConvert(raw, TypeBool)
}

// cannotConvert is the error for a value that does not convert to t. It shows strings quoted and
// shortened, other scalars with their type, and lists and objects by kind only.
func cannotConvert(raw any, t Type) error {
	return fmt.Errorf("cannot convert %s to %s", describe(raw), t)
}

func describe(raw any) string {
	const maxLen = 64
	switch x := raw.(type) {
	case string:
		if len(x) > maxLen {
			return strconv.Quote(x[:maxLen]) + "..."
		}
		return strconv.Quote(x)
	case json.Number:
		return "number " + describe(string(x))
	case float64:
		return "number " + strconv.FormatFloat(x, 'g', -1, 64)
	case int64, int, uint64:
		return fmt.Sprintf("number %d", x)
	case bool:
		return fmt.Sprintf("bool %t", x)
	case time.Time:
		return "timestamp " + x.Format(time.RFC3339Nano)
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("a value of type %T", raw)
}

// canonicalDecimal validates a decimal numeral — optional sign, digits with an optional fraction, optional
// exponent — and returns its canonical form: no '+' sign, no exponent, no superfluous leading zeros, at
// least one digit before the point, no trailing point, and no sign on zero. Trailing zeros of the fraction
// are kept, because they carry the platform's precision ("12.50" stays "12.50"). It does not round.
func canonicalDecimal(s string) (string, bool) {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	intStart := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intPart := s[intStart:i]
	fracPart := ""
	hasPoint := false
	if i < len(s) && s[i] == '.' {
		hasPoint = true
		i++
		fracStart := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		fracPart = s[fracStart:i]
	}
	if intPart == "" && fracPart == "" {
		return "", false
	}
	exp := 0
	hasExp := false
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		hasExp = true
		i++
		expNeg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			expNeg = s[i] == '-'
			i++
		}
		expStart := i
		for i < len(s) && isDigit(s[i]) {
			if exp = exp*10 + int(s[i]-'0'); exp > maxExponent {
				return "", false
			}
			i++
		}
		if i == expStart {
			return "", false
		}
		if expNeg {
			exp = -exp
		}
	}
	if i != len(s) {
		return "", false
	}
	allZero := strings.Trim(intPart, "0") == "" && strings.Trim(fracPart, "0") == ""

	// Fast path: already canonical, so return s itself without allocating.
	if !hasExp && s[0] != '+' && intPart != "" && (!hasPoint || fracPart != "") &&
		(len(intPart) == 1 || intPart[0] != '0') && !(neg && allZero) {
		return s, true
	}

	digits := intPart + fracPart
	point := len(intPart) + exp // position of the decimal point within digits
	var whole, frac string
	switch {
	case point <= 0:
		whole, frac = "0", strings.Repeat("0", -point)+digits
	case point >= len(digits):
		whole = digits + strings.Repeat("0", point-len(digits))
	default:
		whole, frac = digits[:point], digits[point:]
	}
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	var b strings.Builder
	b.Grow(len(whole) + len(frac) + 2)
	if neg && !allZero {
		b.WriteByte('-')
	}
	b.WriteString(whole)
	if frac != "" {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String(), true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
