package registry

import (
	"fmt"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/platform/line"
	"github.com/chatsync/sfconnector/connector/platform/meta"
	"github.com/chatsync/sfconnector/connector/platform/telegram"
	"github.com/chatsync/sfconnector/connector/platform/twilio"
	"github.com/chatsync/sfconnector/connector/platform/viber"
	"github.com/chatsync/sfconnector/connector/platform/webchat"
)

// Sign returns the header a platform would send with body on the channel,
// signed with the channel's secret: its name and its value. fullURL is the
// webhook URL as the platform calls it; only Twilio signs it.
func Sign(c config.Channel, fullURL string, body []byte) (header, value string, err error) {
	switch c.Platform {
	case config.PlatformWhatsApp:
		if c.WhatsApp != nil {
			return meta.SignatureHeader, meta.Sign(c.WhatsApp.AppSecret.Value(), body), nil
		}
	case config.PlatformMessenger:
		if c.Messenger != nil {
			return meta.SignatureHeader, meta.Sign(c.Messenger.AppSecret.Value(), body), nil
		}
	case config.PlatformInstagram:
		if c.Instagram != nil {
			return meta.SignatureHeader, meta.Sign(c.Instagram.AppSecret.Value(), body), nil
		}
	case config.PlatformWebChat:
		if c.WebChat != nil {
			return webchat.SignatureHeader, webchat.Sign(c.WebChat.Secret.Value(), body), nil
		}
	case config.PlatformTelegram:
		if c.Telegram != nil {
			return telegram.SecretHeader, telegram.Sign(c.Telegram.SecretToken.Value(), body), nil
		}
	case config.PlatformLINE:
		if c.LINE != nil {
			return line.SignatureHeader, line.Sign(c.LINE.ChannelSecret.Value(), body), nil
		}
	case config.PlatformViber:
		if c.Viber != nil {
			return viber.SignatureHeader, viber.Sign(c.Viber.AuthToken.Value(), body), nil
		}
	case config.PlatformTwilio:
		if c.Twilio != nil {
			v, err := twilio.SignBody(c.Twilio.AuthToken.Value(), fullURL, body)
			return twilio.SignatureHeader, v, err
		}
	default:
		return "", "", fmt.Errorf("platform %q is not supported", c.Platform)
	}
	return "", "", errNoSection(c.Platform)
}
