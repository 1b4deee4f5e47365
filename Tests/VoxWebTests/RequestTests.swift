import FastCGI
import Foundation
import Testing

@Suite struct RequestTests {
    @Test func queryParametersDecodeAndRepeat() {
        let query = Parameters(urlEncoded: "a=1&b=x%20y&c=+plus&a=2&empty=&flag&name=%D0%98%D0%B2%D0%B0%D0%BD")
        #expect(query["a"] == "1")
        #expect(query.all("a") == ["1", "2"])
        #expect(query["b"] == "x y")
        #expect(query["c"] == " plus")
        #expect(query["empty"] == "")
        #expect(query.text("empty") == nil)
        #expect(query["flag"] == "")
        #expect(query["name"] == "Иван")
        #expect(query["missing"] == nil)
    }

    @Test func cgiParametersBecomeRequest() {
        let request = Request(cgi: [
            "REQUEST_METHOD": "post", "DOCUMENT_URI": "/calls/42", "REQUEST_URI": "/calls/42?x=1",
            "QUERY_STRING": "x=1", "HTTP_X_REQUEST_ID": "abc", "CONTENT_TYPE": "application/json; charset=utf-8",
            "HTTP_COOKIE": "vox_session=tok; other=1; vox_session=second", "REMOTE_ADDR": "10.0.0.1", "HTTPS": "on",
        ], body: Array("{}".utf8))
        #expect(request.method == "POST")
        #expect(request.path == "/calls/42")
        #expect(request.query["x"] == "1")
        #expect(request.headers["x-request-id"] == "abc")
        #expect(request.contentType == "application/json")
        #expect(request.cookies["vox_session"] == "tok")
        #expect(request.cookies["other"] == "1")
        #expect(request.remoteAddress == "10.0.0.1")
        #expect(request.isHTTPS)
    }

    @Test func formNeedsFormContentType() throws {
        let form = Request(method: "POST", path: "/", headers: ["content-type": "application/x-www-form-urlencoded"],
                           body: Array("email=a%40b.c&password=p+w".utf8))
        #expect(try form.form()["email"] == "a@b.c")
        #expect(try form.form()["password"] == "p w")
        let json = Request(method: "POST", path: "/", headers: ["content-type": "application/json"], body: [])
        let error = #expect(throws: HTTPError.self) { try json.form() }
        #expect(error?.status == .unsupportedMediaType)
    }

    struct Event: Decodable { var id: Int; var name: String }

    @Test func jsonBodyDecodesOrExplains() throws {
        func request(_ body: String) -> Request {
            Request(method: "POST", path: "/", headers: ["content-type": "application/json"], body: Array(body.utf8))
        }
        let event = try request(#"{"id": 3, "name": "x", "extra": true}"#).json(Event.self)
        #expect(event.id == 3)

        let malformed = #expect(throws: HTTPError.self) { try request(#"{"id": 3,"#).json(Event.self) }
        #expect(malformed?.status == .badRequest)
        #expect(malformed?.message.contains("not valid JSON") == true)

        let missing = #expect(throws: HTTPError.self) { try request(#"{"id": 3}"#).json(Event.self) }
        #expect(missing?.message.contains("missing field 'name'") == true)

        let wrongType = #expect(throws: HTTPError.self) { try request(#"{"id": "three", "name": "x"}"#).json(Event.self) }
        #expect(wrongType?.message.contains("at id") == true)
    }

    @Test func responseHeadCannotBeSplit() {
        var response = Response.redirect(to: "/x\r\nSet-Cookie: evil=1")
        response.addHeader("X-Test", "ok")
        let head = response.collectHead()
        #expect(head.hasPrefix("Status: 303 See Other\r\n"))
        #expect(!head.contains("\r\nSet-Cookie"))
        #expect(head.hasSuffix("X-Test: ok\r\n\r\n"))
    }

    @Test func cookieAttributes() {
        var cookie = Cookie(name: "s", value: "v", maxAge: 60, secure: true)
        #expect(cookie.headerValue == "s=v; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Lax")
        cookie.secure = false
        #expect(!cookie.headerValue.contains("Secure"))
    }
}
