package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/chatsync/sfconnector/connector/platform"
)

// fileTypes maps the extensions of the file paths Telegram gives (getFile)
// to MIME types, for the items whose message gives none (a photo, a
// sticker): Telegram's file server answers application/octet-stream.
var fileTypes = map[string]string{
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp", ".gif": "image/gif",
	".oga": "audio/ogg", ".ogg": "audio/ogg", ".mp3": "audio/mpeg", ".m4a": "audio/mp4",
	".mp4": "video/mp4", ".webm": "video/webm", ".mov": "video/quicktime",
	".tgs": "application/x-tgsticker", ".pdf": "application/pdf",
}

// telegramFile is the File object getFile returns.
type telegramFile struct {
	FileID   string `json:"file_id"`
	FileSize int64  `json:"file_size"`
	FilePath string `json:"file_path"`
}

// FetchMedia downloads the file ref (a file_id, with the file's name and
// MIME type as a fragment when the message gave them: see
// platform.JoinMediaRef) with the bot token: getFile gives its file_path
// and size (a size above max is refused before the download), then GET
// {api_url}/file/bot<token>/<file_path>. The Bot API downloads files of
// up to 20 MB; a larger one ("file is too big") wraps
// platform.ErrMediaTooLarge. An unknown or expired file_id (400) wraps
// platform.ErrMediaGone, as does a channel without a bot token; rate
// limits, server and network errors are temporary. The name is the
// message's file name, else the last element of file_path; the type the
// message's MIME type, else the file path's extension's, else sniffed. No
// error carries the bot token.
func (a *Adapter) FetchMedia(ctx context.Context, ref string, max int64) (platform.Media, error) {
	fileID, name, typ := platform.SplitMediaRef(ref)
	if fileID == "" {
		return platform.Media{}, fmt.Errorf("telegram: media: %w: empty file_id", platform.ErrMediaGone)
	}
	if a.botToken == "" {
		return platform.Media{}, fmt.Errorf("telegram: media: %w (no bot token configured)", platform.ErrMediaNoCredential)
	}
	status, body, err := a.call(ctx, "getFile", map[string]string{"file_id": fileID})
	if err != nil {
		return platform.Media{}, fmt.Errorf("telegram: media: getFile: %w", err)
	}
	var env apiResponse
	parseErr := json.Unmarshal(body, &env)
	if status < 200 || status > 299 || (parseErr == nil && !env.OK) {
		e := responseError(status, body)
		switch {
		case strings.Contains(strings.ToLower(e.Description), "file is too big"):
			return platform.Media{}, fmt.Errorf("telegram: media: getFile: %w: %s", platform.ErrMediaTooLarge, platform.Clip(e.Description, platform.MaxDetail))
		case e.HTTPStatus == http.StatusBadRequest || e.Code == http.StatusBadRequest:
			return platform.Media{}, fmt.Errorf("telegram: media: getFile: %w: %w", platform.ErrMediaGone, e)
		}
		return platform.Media{}, fmt.Errorf("telegram: media: getFile: %w", e)
	}
	if parseErr != nil {
		return platform.Media{}, fmt.Errorf("telegram: media: getFile: unreadable response (HTTP %d): %w", status, parseErr)
	}
	var f telegramFile
	if err := json.Unmarshal(env.Result, &f); err != nil {
		return platform.Media{}, fmt.Errorf("telegram: media: getFile: unreadable result (HTTP %d): %w", status, err)
	}
	if f.FilePath == "" {
		// The Bot API gives no file_path when the file can no longer be
		// downloaded.
		return platform.Media{}, fmt.Errorf("telegram: media: getFile: %w: no file_path for the file", platform.ErrMediaGone)
	}
	if f.FileSize > max {
		return platform.Media{}, fmt.Errorf("telegram: media: %w", platform.TooLarge(f.FileSize, max))
	}
	m, err := platform.GetMedia(ctx, a.api, max, platform.MediaRequest{
		URL:  a.apiURL + "/file/bot" + a.botToken + "/" + escapePath(f.FilePath),
		Gone: []int{http.StatusBadRequest, http.StatusNotFound},
		Detail: func(b []byte) string {
			return responseError(0, b).Description
		},
	})
	if err != nil {
		return platform.Media{}, fmt.Errorf("telegram: media: %w", err)
	}
	m.FileName = name
	if m.FileName == "" {
		m.FileName = path.Base(f.FilePath)
	}
	switch {
	case typ != "":
		m.ContentType = typ
	case fileTypes[strings.ToLower(path.Ext(f.FilePath))] != "":
		m.ContentType = fileTypes[strings.ToLower(path.Ext(f.FilePath))]
	case m.ContentType == "" || m.ContentType == "application/octet-stream":
		m.ContentType = strings.SplitN(http.DetectContentType(m.Data), ";", 2)[0]
	}
	return m, nil
}

// escapePath escapes each element of a file path for a URL, keeping its
// slashes.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}
