package shorthand_test

import (
	"encoding/json"
	"fmt"

	"github.com/palisadehq/palisade/internal/shorthand"
)

func ExampleParseIPPermissions() {
	perms, err := shorthand.ParseIPPermissions([]string{
		"IpProtocol=tcp,FromPort=21,ToPort=80,IpRanges=[{CidrIp=0.0.0.0/0},{CidrIp=10.0.0.0/16}]",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, _ := json.Marshal(perms)
	fmt.Println(string(out))

	_, err = shorthand.ParseIPPermissions([]string{"IpProtocol=tcp,FromPort=22,ToPort=22,IpRange=[{CidrIp=10.0.0.0/8}]"})
	fmt.Println(err)
	// Output:
	// [{"FromPort":21,"IpProtocol":"tcp","IpRanges":[{"CidrIp":"0.0.0.0/0"},{"CidrIp":"10.0.0.0/16"}],"ToPort":80}]
	// argument 1, line 1, column 38: IpPermissions[0]: unknown key "IpRange"; valid keys are IpProtocol, FromPort, ToPort, IpRanges, Ipv6Ranges, PrefixListIds, UserIdGroupPairs
}
