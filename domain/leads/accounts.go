// Package leads holds the pure rules about people and companies: which email domain names a
// company account.
package leads

import "strings"

// freeMail lists consumer mailbox providers: their domains name no company, so leads with
// such addresses get no account. Add domains here as they are reported.
var freeMail = map[string]bool{}

func init() {
	for _, d := range strings.Fields(`
		gmail.com googlemail.com outlook.com hotmail.com hotmail.co.uk hotmail.fr hotmail.de hotmail.it hotmail.es
		live.com live.co.uk live.fr live.de msn.com passport.com windowslive.com
		yahoo.com yahoo.co.uk yahoo.fr yahoo.de yahoo.it yahoo.es yahoo.co.jp yahoo.com.br yahoo.ca yahoo.in ymail.com rocketmail.com
		icloud.com me.com mac.com aol.com aim.com verizon.net att.net sbcglobal.net comcast.net
		protonmail.com proton.me pm.me tutanota.com tuta.io zoho.com zohomail.com mail.com email.com usa.com
		gmx.com gmx.net gmx.de gmx.at gmx.ch web.de t-online.de freenet.de posteo.de mailbox.org
		orange.fr wanadoo.fr free.fr laposte.net sfr.fr libero.it virgilio.it tiscali.it alice.it
		bluewin.ch hispeed.ch sunrise.ch
		yandex.com yandex.ru mail.ru inbox.ru list.ru bk.ru rambler.ru
		qq.com 163.com 126.com sina.com sohu.com naver.com daum.net hanmail.net
		rediffmail.com seznam.cz wp.pl o2.pl interia.pl onet.pl
		fastmail.com fastmail.fm hey.com hushmail.com mailfence.com duck.com
		btinternet.com sky.com virginmedia.com ntlworld.com talktalk.net
		shaw.ca rogers.com sympatico.ca bigpond.com optusnet.com.au
		uol.com.br bol.com.br terra.com.br
	`) {
		freeMail[d] = true
	}
}

// IsFreeMail reports whether the domain belongs to a consumer mailbox provider.
func IsFreeMail(domain string) bool { return freeMail[strings.ToLower(domain)] }

// CompanyDomain returns the company domain of an email address, or "" for free-mail
// addresses and malformed input.
func CompanyDomain(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 || at == len(email)-1 {
		return ""
	}
	d := strings.ToLower(strings.TrimSpace(email[at+1:]))
	if d == "" || !strings.Contains(d, ".") || IsFreeMail(d) {
		return ""
	}
	return d
}
