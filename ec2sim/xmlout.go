package ec2sim

import (
	"encoding/xml"
	"net/http"
	"strconv"
)

// This file holds the response shapes, named after the EC2 model's
// lowerCamel locationNames, and the two writers (success and error). Every
// list is a wrapper element of <item> children, as the ec2query protocol
// requires; optional members are pointers or omitempty so that absent means
// absent, not zero.

// meta is embedded in every response: the namespace and the lower-case
// <requestId> child that EC2 puts first.
type meta struct {
	Xmlns     string `xml:"xmlns,attr"`
	RequestID string `xml:"requestId"`
}

func (m *meta) setMeta(requestID string) {
	m.Xmlns = xmlNamespace
	m.RequestID = requestID
}

type response interface{ setMeta(requestID string) }

type xmlTag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

func xmlTags(t tags) []xmlTag {
	out := make([]xmlTag, 0, len(t))
	for _, k := range t.sortedKeys() {
		out = append(out, xmlTag{Key: k, Value: t[k]})
	}
	return out
}

type xmlIPRange struct {
	CidrIP      string `xml:"cidrIp"`
	Description string `xml:"description,omitempty"`
}

type xmlIPv6Range struct {
	CidrIPv6    string `xml:"cidrIpv6"`
	Description string `xml:"description,omitempty"`
}

type xmlPrefixList struct {
	PrefixListID string `xml:"prefixListId"`
	Description  string `xml:"description,omitempty"`
}

type xmlPair struct {
	UserID                 string `xml:"userId,omitempty"`
	GroupID                string `xml:"groupId,omitempty"`
	GroupName              string `xml:"groupName,omitempty"`
	Description            string `xml:"description,omitempty"`
	VpcID                  string `xml:"vpcId,omitempty"`
	VpcPeeringConnectionID string `xml:"vpcPeeringConnectionId,omitempty"`
	PeeringStatus          string `xml:"peeringStatus,omitempty"`
}

type xmlPermission struct {
	IPProtocol    string          `xml:"ipProtocol"`
	FromPort      *int32          `xml:"fromPort,omitempty"`
	ToPort        *int32          `xml:"toPort,omitempty"`
	Groups        []xmlPair       `xml:"groups>item"`
	IPRanges      []xmlIPRange    `xml:"ipRanges>item"`
	IPv6Ranges    []xmlIPv6Range  `xml:"ipv6Ranges>item"`
	PrefixListIDs []xmlPrefixList `xml:"prefixListIds>item"`
}

type xmlSecurityGroup struct {
	OwnerID             string          `xml:"ownerId"`
	GroupID             string          `xml:"groupId"`
	GroupName           string          `xml:"groupName"`
	GroupDescription    string          `xml:"groupDescription"`
	VpcID               string          `xml:"vpcId"`
	SecurityGroupArn    string          `xml:"securityGroupArn"`
	IPPermissions       []xmlPermission `xml:"ipPermissions>item"`
	IPPermissionsEgress []xmlPermission `xml:"ipPermissionsEgress>item"`
	TagSet              []xmlTag        `xml:"tagSet>item,omitempty"`
}

type xmlReferencedGroup struct {
	GroupID                string `xml:"groupId"`
	UserID                 string `xml:"userId"`
	VpcID                  string `xml:"vpcId,omitempty"`
	VpcPeeringConnectionID string `xml:"vpcPeeringConnectionId,omitempty"`
	PeeringStatus          string `xml:"peeringStatus,omitempty"`
}

type xmlRule struct {
	SecurityGroupRuleID  string              `xml:"securityGroupRuleId"`
	GroupID              string              `xml:"groupId"`
	GroupOwnerID         string              `xml:"groupOwnerId"`
	IsEgress             bool                `xml:"isEgress"`
	IPProtocol           string              `xml:"ipProtocol"`
	FromPort             int32               `xml:"fromPort"`
	ToPort               int32               `xml:"toPort"`
	CidrIPv4             string              `xml:"cidrIpv4,omitempty"`
	CidrIPv6             string              `xml:"cidrIpv6,omitempty"`
	PrefixListID         string              `xml:"prefixListId,omitempty"`
	ReferencedGroupInfo  *xmlReferencedGroup `xml:"referencedGroupInfo,omitempty"`
	Description          string              `xml:"description,omitempty"`
	TagSet               []xmlTag            `xml:"tagSet>item"`
	SecurityGroupRuleArn string              `xml:"securityGroupRuleArn"`
}

type xmlRevokedRule struct {
	SecurityGroupRuleID string `xml:"securityGroupRuleId"`
	GroupID             string `xml:"groupId"`
	IsEgress            bool   `xml:"isEgress"`
	IPProtocol          string `xml:"ipProtocol"`
	FromPort            int32  `xml:"fromPort"`
	ToPort              int32  `xml:"toPort"`
	CidrIPv4            string `xml:"cidrIpv4,omitempty"`
	CidrIPv6            string `xml:"cidrIpv6,omitempty"`
	PrefixListID        string `xml:"prefixListId,omitempty"`
	ReferencedGroupID   string `xml:"referencedGroupId,omitempty"`
	Description         string `xml:"description,omitempty"`
}

type xmlCIDRAssoc struct {
	AssociationID string       `xml:"associationId"`
	CidrBlock     string       `xml:"cidrBlock"`
	State         xmlCIDRState `xml:"cidrBlockState"`
}

type xmlIPv6Assoc struct {
	AssociationID      string       `xml:"associationId"`
	IPv6CidrBlock      string       `xml:"ipv6CidrBlock"`
	State              xmlCIDRState `xml:"ipv6CidrBlockState"`
	NetworkBorderGroup string       `xml:"networkBorderGroup"`
	IPv6Pool           string       `xml:"ipv6Pool"`
}

type xmlCIDRState struct {
	State string `xml:"state"`
}

type xmlVpc struct {
	VpcID                 string         `xml:"vpcId"`
	OwnerID               string         `xml:"ownerId"`
	State                 string         `xml:"state"`
	CidrBlock             string         `xml:"cidrBlock"`
	CidrBlockAssociations []xmlCIDRAssoc `xml:"cidrBlockAssociationSet>item"`
	IPv6Associations      []xmlIPv6Assoc `xml:"ipv6CidrBlockAssociationSet>item,omitempty"`
	DhcpOptionsID         string         `xml:"dhcpOptionsId"`
	InstanceTenancy       string         `xml:"instanceTenancy"`
	IsDefault             bool           `xml:"isDefault"`
	TagSet                []xmlTag       `xml:"tagSet>item,omitempty"`
}

type xmlTagDescription struct {
	ResourceID   string `xml:"resourceId"`
	ResourceType string `xml:"resourceType"`
	Key          string `xml:"key"`
	Value        string `xml:"value"`
}

// Responses, one per action.

type createSecurityGroupResponse struct {
	XMLName xml.Name `xml:"CreateSecurityGroupResponse"`
	meta
	Return           bool     `xml:"return"`
	GroupID          string   `xml:"groupId"`
	SecurityGroupArn string   `xml:"securityGroupArn"`
	TagSet           []xmlTag `xml:"tagSet>item,omitempty"`
}

type deleteSecurityGroupResponse struct {
	XMLName xml.Name `xml:"DeleteSecurityGroupResponse"`
	meta
	Return  bool   `xml:"return"`
	GroupID string `xml:"groupId"`
}

type describeSecurityGroupsResponse struct {
	XMLName xml.Name `xml:"DescribeSecurityGroupsResponse"`
	meta
	SecurityGroupInfo []xmlSecurityGroup `xml:"securityGroupInfo>item"`
	NextToken         string             `xml:"nextToken,omitempty"`
}

// authorizeResponse serves both directions; the root element name is set per
// call because the two differ only there.
type authorizeResponse struct {
	XMLName xml.Name
	meta
	Return               bool      `xml:"return"`
	SecurityGroupRuleSet []xmlRule `xml:"securityGroupRuleSet>item"`
}

type revokeResponse struct {
	XMLName xml.Name
	meta
	Return                      bool             `xml:"return"`
	UnknownIPPermissionSet      []xmlPermission  `xml:"unknownIpPermissionSet>item,omitempty"`
	RevokedSecurityGroupRuleSet []xmlRevokedRule `xml:"revokedSecurityGroupRuleSet>item"`
}

type describeSecurityGroupRulesResponse struct {
	XMLName xml.Name `xml:"DescribeSecurityGroupRulesResponse"`
	meta
	SecurityGroupRuleSet []xmlRule `xml:"securityGroupRuleSet>item"`
	NextToken            string    `xml:"nextToken,omitempty"`
}

// returnResponse is the bare {return: true} answer of several actions.
type returnResponse struct {
	XMLName xml.Name
	meta
	Return bool `xml:"return"`
}

type describeTagsResponse struct {
	XMLName xml.Name `xml:"DescribeTagsResponse"`
	meta
	TagSet    []xmlTagDescription `xml:"tagSet>item"`
	NextToken string              `xml:"nextToken,omitempty"`
}

type describeVpcsResponse struct {
	XMLName xml.Name `xml:"DescribeVpcsResponse"`
	meta
	VpcSet    []xmlVpc `xml:"vpcSet>item"`
	NextToken string   `xml:"nextToken,omitempty"`
}

type createVpcResponse struct {
	XMLName xml.Name `xml:"CreateVpcResponse"`
	meta
	Vpc xmlVpc `xml:"vpc"`
}

func rootName(action string) xml.Name { return xml.Name{Local: action + "Response"} }

// writeXML sends a success response. The request id goes in the body and in
// x-amzn-RequestId, because aws-sdk-go-v2 reads it from the header on success
// and botocore from <requestId>.
func writeXML(w http.ResponseWriter, requestID string, resp response) {
	resp.setMeta(requestID)
	body, err := xml.Marshal(resp)
	if err != nil {
		// Every response type is a fixed struct of strings, ints and bools;
		// marshalling cannot fail short of a programming error.
		writeError(w, requestID, errInternal())
		return
	}
	writeBody(w, requestID, http.StatusOK, body)
}

type xmlErrorResponse struct {
	XMLName xml.Name `xml:"Response"`
	Errors  struct {
		Error struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Error"`
	} `xml:"Errors"`
	RequestID string `xml:"RequestID"`
}

// writeError sends EC2's error shape: <Response><Errors><Error>…</Errors>
// <RequestID>, with capital "ID" as EC2 and the SDKs spell it.
func writeError(w http.ResponseWriter, requestID string, e *apiError) {
	var x xmlErrorResponse
	x.Errors.Error.Code = e.Code
	x.Errors.Error.Message = e.Message
	x.RequestID = requestID
	body, err := xml.Marshal(x)
	if err != nil {
		body = []byte("<Response><Errors><Error><Code>InternalError</Code></Error></Errors></Response>")
	}
	writeBody(w, requestID, e.Status, body)
}

func writeBody(w http.ResponseWriter, requestID string, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/xml;charset=UTF-8")
	h.Set("x-amzn-RequestId", requestID)
	h.Set("Content-Length", strconv.Itoa(len(xml.Header)+len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}
