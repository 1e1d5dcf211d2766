// Package localdefaults holds the fixed addresses, bucket and credentials
// of the local stack (go run ./test/cmd/local), so that the operator CLI
// (cmd/mediastate) reaches it with no configuration. They protect nothing:
// the stack listens on loopback only.
package localdefaults

const (
	// OSSAddr is the embedded OSS server's default address.
	OSSAddr = "127.0.0.1:9000"
	// Bucket is the embedded server's bucket.
	Bucket = "mediastate-local"
	// AccessKeyID and AccessKeySecret are the embedded server's credential.
	AccessKeyID     = "LTAIlocalstack0001"
	AccessKeySecret = "localstack-secret"
	// Prefix is the functions' STATE_PREFIX.
	Prefix = "mediastate/"
	// QueryToken is liverecordquery's default bearer token.
	QueryToken = "local-query-token"
)
