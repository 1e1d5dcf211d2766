module mediastate

go 1.24.0

require (
	github.com/aliyun/aliyun-oss-go-sdk v3.0.2+incompatible
	github.com/aws/smithy-go v1.28.8
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
)

require gopkg.in/yaml.v3 v3.0.1

require github.com/aliyun/alibabacloud-oss-go-sdk-v2 v1.6.1

require golang.org/x/sync v0.18.0

require (
	github.com/aliyun/fc-runtime-go-sdk v0.3.1
	golang.org/x/text v0.14.0 // indirect
	golang.org/x/time v0.14.0 // indirect
	gopkg.in/check.v1 v1.0.0-20201130134442-10cb98267c6c // indirect
)
