package confinfo_test

import (
	"errors"
	"fmt"

	"github.com/parley-im/parley/confinfo"
)

// A focus builds the NOTIFY body for a chat room with two participants.
func Example() {
	doc := confinfo.NewChatRoom("sip:chatroom22@chat.example.com", "Chat room 22", 1)
	doc.AddUser(confinfo.ChatUser("sip:bob@example.com", "Dopey Donkey", "Bob Hoskins",
		confinfo.ChatEndpoint("sip:bob@bobpc.example.com", "1")))
	doc.SetUserCount(1)
	if err := doc.Validate(); err != nil {
		panic(err)
	}
	body, err := doc.Marshal()
	if err != nil {
		panic(err)
	}
	fmt.Printf("Content-Type: %s\n\n%s", confinfo.MIMEType, body)
	// Output:
	// Content-Type: application/conference-info+xml
	//
	// <?xml version="1.0" encoding="UTF-8"?>
	// <conference-info xmlns="urn:ietf:params:xml:ns:conference-info" xmlns:xcon="urn:ietf:params:xml:ns:xcon-conference-info" entity="sip:chatroom22@chat.example.com" state="full" version="1">
	//   <conference-description>
	//     <display-text>Chat room 22</display-text>
	//     <available-media>
	//       <entry label="chat">
	//         <type>message</type>
	//         <status>sendrecv</status>
	//       </entry>
	//     </available-media>
	//   </conference-description>
	//   <conference-state>
	//     <user-count>1</user-count>
	//     <active>true</active>
	//     <locked>false</locked>
	//   </conference-state>
	//   <users>
	//     <user entity="sip:bob@example.com" state="full" xcon:nickname="Dopey Donkey">
	//       <display-text>Bob Hoskins</display-text>
	//       <endpoint entity="sip:bob@bobpc.example.com">
	//         <status>connected</status>
	//         <joining-method>dialed-in</joining-method>
	//         <media id="1">
	//           <type>message</type>
	//           <status>sendrecv</status>
	//         </media>
	//       </endpoint>
	//     </user>
	//   </users>
	// </conference-info>
}

// A subscriber keeps a local copy up to date with NOTIFY bodies.
func ExampleConferenceInfo_Apply() {
	var local confinfo.ConferenceInfo
	notify := func(body string) {
		doc, err := confinfo.Parse([]byte(body))
		if err != nil {
			fmt.Println("bad body:", err)
			return
		}
		switch err := local.Apply(doc); {
		case errors.Is(err, confinfo.ErrStaleVersion):
			fmt.Println("discarded")
		case errors.Is(err, confinfo.ErrVersionGap):
			fmt.Println("re-subscribe")
		case err != nil:
			fmt.Println("error:", err)
		default:
			for _, u := range local.Users.Users {
				fmt.Printf("v%d %s %q\n", local.Version, u.Entity, u.Nickname)
			}
		}
	}
	const head = `<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" xmlns:xcon="urn:ietf:params:xml:ns:xcon-conference-info" entity="sip:room@x" `
	notify(head + `version="1"><conference-description/><users><user entity="sip:a@x" xcon:nickname="Ann"/><user entity="sip:b@x"/></users></conference-info>`)
	notify(head + `state="partial" version="2"><users><user entity="sip:a@x" state="deleted"/></users></conference-info>`)
	notify(head + `state="partial" version="2"><users/></conference-info>`)
	notify(head + `state="partial" version="4"><users/></conference-info>`)
	// Output:
	// v1 sip:a@x "Ann"
	// v1 sip:b@x ""
	// v2 sip:b@x ""
	// discarded
	// re-subscribe
}
