"""A real SMTP server on loopback for the notification tests (aiosmtpd, from PyPI): STARTTLS required
before authentication, one user, each message written as JSON to a directory.

    smtp_server.py DIR USER PASSWORD

Makes a certificate authority and a server certificate for 127.0.0.1 with openssl in DIR (ca.crt is what
the client trusts), listens on a free port and prints "ready PORT" when it answers.
"""
import email
import email.policy
import json
import os
import socket
import ssl
import subprocess
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

directory, user, password = sys.argv[1], sys.argv[2], sys.argv[3]


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory)


openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Stepline test CA",
        "-keyout", "ca.key", "-out", "ca.crt")
openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr")
with open(os.path.join(directory, "san.ext"), "w") as f:
    f.write("subjectAltName=IP:127.0.0.1\n")
openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-extfile", "san.ext", "-out", "server.crt")
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(os.path.join(directory, "server.crt"), os.path.join(directory, "server.key"))


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
    return AuthResult(success=ok, auth_data=auth_data.login.decode() if ok else None)


class Keep:
    count = 0

    async def handle_DATA(self, server, session, envelope):
        Keep.count += 1
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "subject": str(message["subject"]),
            "message_id": str(message["message-id"]),
            "text": text.get_content() if text else None,
            "html": html.get_content() if html else None,
            "tls": session.ssl is not None,
            "user": session.auth_data if session.authenticated else None,
        }
        with open(os.path.join(directory, f"message-{Keep.count}.json"), "w") as f:
            json.dump(record, f)
        return "250 OK"


s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
controller = Controller(Keep(), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                        auth_required=True, auth_require_tls=True, authenticator=authenticate)
controller.start()
print(f"ready {port}", flush=True)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    controller.stop()
