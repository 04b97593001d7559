package ec2client

import (
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// guardBody works around a race between smithy-go and net/http: the SDK
// closes a request's body as soon as the response arrives, and the closed
// body's WriteTo then answers io.EOF to net/http's request writer, which is
// still probing the body and takes that for a failed write, closing the
// connection while the response is being read ("use of closed network
// connection" on a 200). Against an endpoint that answers within
// microseconds, such as the local one, a response of tens of kilobytes
// loses that race often (aws/aws-sdk-go-v2#1825, #2737). Hiding WriteTo
// makes the writer read the body instead, and a closed body reads as a
// clean end.
type guardBody struct{ next aws.HTTPClient }

func (g guardBody) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r = r.Clone(r.Context())
		r.Body = readOnlyBody{r.Body}
	}
	return g.next.Do(r)
}

// readOnlyBody has no WriteTo, whatever the body it wraps has.
type readOnlyBody struct{ io.ReadCloser }
