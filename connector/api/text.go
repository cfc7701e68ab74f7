package api

import (
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strings"

	"github.com/chatsync/sfconnector/connector/sanitize"
)

// The API refuses text it would not store as given: a NUL character
// (JSON's \u0000, a query's %00) or invalid UTF-8 in a body's field or a
// query parameter gets 400 naming where it is, and changes nothing. (The
// webhooks clean the same text instead: a platform's delivery is never
// refused for its content.)

// checkText returns an error naming the first field of v, a decoded body,
// whose text sanitize.Check refuses.
func checkText(v any) error {
	return checkValue(reflect.ValueOf(v), "")
}

func checkValue(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return checkValue(v.Elem(), path)
	case reflect.String:
		if err := sanitize.Check(v.String()); err != nil {
			return fmt.Errorf("field %s %w", path, err)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if err := checkValue(v.Field(i), join(path, name)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if err := checkValue(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			if err := checkValue(k, join(path, fmt.Sprint(k))+" (its name)"); err != nil {
				return err
			}
			if err := checkValue(v.MapIndex(k), join(path, fmt.Sprint(k))); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// checkQuery returns an error naming the first query parameter whose name
// or value sanitize.Check refuses.
func checkQuery(q url.Values) error {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := sanitize.Check(k); err != nil {
			return fmt.Errorf("a query parameter's name %w", err)
		}
		for _, v := range q[k] {
			if err := sanitize.Check(v); err != nil {
				return fmt.Errorf("query parameter %s %w", k, err)
			}
		}
	}
	return nil
}
