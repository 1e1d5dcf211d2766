package ossx

import (
	"os"
	"sync/atomic"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// Key is one access key, possibly temporary (STS) with a security token.
type Key struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
}

// GetAccessKeyID implements oss.Credentials.
func (k Key) GetAccessKeyID() string { return k.AccessKeyID }

// GetAccessKeySecret implements oss.Credentials.
func (k Key) GetAccessKeySecret() string { return k.AccessKeySecret }

// GetSecurityToken implements oss.Credentials.
func (k Key) GetSecurityToken() string { return k.SecurityToken }

// Credentials is an oss.CredentialsProvider whose key can be replaced at any
// time: FC functions set it from each invocation's role credentials, which
// FC rotates. It is safe for concurrent use.
type Credentials struct {
	key atomic.Pointer[Key]
}

var _ oss.CredentialsProvider = (*Credentials)(nil)

// NewCredentials returns Credentials holding k.
func NewCredentials(k Key) *Credentials {
	c := &Credentials{}
	c.Set(k)
	return c
}

// CredentialsFromEnv reads OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET and the
// optional OSS_SESSION_TOKEN (the variables the OSS SDK's environment
// provider reads) through getenv, os.Getenv when nil. The result is not
// Valid when the key id or secret is missing.
func CredentialsFromEnv(getenv func(string) string) *Credentials {
	if getenv == nil {
		getenv = os.Getenv
	}
	return NewCredentials(Key{
		AccessKeyID:     getenv("OSS_ACCESS_KEY_ID"),
		AccessKeySecret: getenv("OSS_ACCESS_KEY_SECRET"),
		SecurityToken:   getenv("OSS_SESSION_TOKEN"),
	})
}

// Set replaces the key. An empty key id leaves the current key in place.
func (c *Credentials) Set(k Key) {
	if k.AccessKeyID == "" {
		return
	}
	if cur := c.key.Load(); cur != nil && *cur == k {
		return
	}
	c.key.Store(&k)
}

// Valid reports whether a key is set.
func (c *Credentials) Valid() bool {
	k := c.key.Load()
	return k != nil && k.AccessKeyID != "" && k.AccessKeySecret != ""
}

// GetCredentials implements oss.CredentialsProvider.
func (c *Credentials) GetCredentials() oss.Credentials {
	if k := c.key.Load(); k != nil {
		return *k
	}
	return Key{}
}
