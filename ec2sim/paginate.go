package ec2sim

import (
	"encoding/base64"
	"sort"
	"strings"
)

// paginate returns one page of items, which must be sorted by id. The token
// names the last id returned, so a page boundary survives deletions between
// calls (a deleted item is simply skipped), and it carries the listing's kind
// so a token from one describe call is refused by another, as EC2 refuses
// foreign tokens.
func paginate[T any](items []T, id func(T) string, kind string, pg pagination) ([]T, string, *apiError) {
	start := 0
	if pg.HasToken && pg.NextToken != "" {
		last, ok := decodeToken(pg.NextToken, kind)
		if !ok {
			return nil, "", clientErr(codeInvalidPaginationToken, "Invalid pagination token: %s", pg.NextToken)
		}
		start = sort.Search(len(items), func(i int) bool { return id(items[i]) > last })
	}
	rest := items[start:]
	if pg.MaxResults == 0 || len(rest) <= pg.MaxResults {
		return rest, "", nil
	}
	page := rest[:pg.MaxResults]
	return page, encodeToken(kind, id(page[len(page)-1])), nil
}

func encodeToken(kind, last string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + "\x00" + last))
}

func decodeToken(tok, kind string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", false
	}
	k, last, ok := strings.Cut(string(b), "\x00")
	return last, ok && k == kind && last != ""
}
