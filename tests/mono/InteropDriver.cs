// Interop driver: exercises libcustomer_key through powershell/CustomerKey/Native.cs, the very
// P/Invoke declarations the PowerShell module compiles with Add-Type, under Mono.
//
//   mcs -out:driver.exe tests/mono/InteropDriver.cs powershell/CustomerKey/Native.cs
//   LD_LIBRARY_PATH=target/release mono driver.exe <scratch dir>
//
// Prints "PASS name" / "FAIL name: why" per check and "N passed, N failed"; exits 1 on failure.
// Plain C# with a small JSON reader/writer of its own (Mono ships no JSON library to rely on).
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using CustomerKey.Native;

namespace CustomerKey.Tests
{
    public static class InteropDriver
    {
        const string Upn = "jürgen@contoso.com";
        const string TagValue = "Zoë Ünïcødé 漢字 🔑";
        const string Vault = "ck-interop";
        const int Threads = 8;
        const int KeysPerThread = 3;
        const int WrapsPerKey = 3;

        static int passed, failed;

        static int Main(string[] args)
        {
            if (args.Length != 1)
            {
                Console.Error.WriteLine("usage: mono driver.exe <scratch dir>");
                return 2;
            }
            string scratch = Path.GetFullPath(args[0]);
            Directory.CreateDirectory(scratch);
            try
            {
                Run(scratch);
            }
            catch (Exception e)
            {
                Fail("driver", "unexpected " + e);
            }
            Console.WriteLine("{0} passed, {1} failed", passed, failed);
            return failed == 0 ? 0 : 1;
        }

        static void Run(string scratch)
        {
            // ck_version: static, never freed.
            string version = null;
            Check("ck_version", delegate
            {
                IntPtr v = Ck.Version();
                if (v == IntPtr.Zero) return "returned NULL";
                version = NativeMethods.PtrToUtf8(v);
                if (string.IsNullOrEmpty(version)) return "empty version";
                if (NativeMethods.PtrToUtf8(Ck.Version()) != version) return "version changed between calls";
                return null;
            });

            // ck_describe: the registry.
            List<object> operations = null;
            Check("ck_describe", delegate
            {
                Reply r = Ck.Describe();
                if (r.Status != 0) return "status " + r.Status + ": " + r.Text;
                var reg = r.Object();
                if (version != null && Json.Str(reg, "Version") != version)
                    return "Version " + Json.Str(reg, "Version") + " != ck_version " + version;
                operations = Json.Get(reg, "Operations") as List<object>;
                if (operations == null || operations.Count == 0) return "no Operations";
                var names = new List<string>();
                foreach (var op in operations)
                {
                    var o = op as Dictionary<string, object>;
                    if (o == null || Json.Str(o, "Name") == null || !(Json.Get(o, "Parameters") is List<object>))
                        return "operation without Name/Parameters: " + Json.Write(op);
                    names.Add(Json.Str(o, "Name"));
                }
                foreach (var need in new[] { "New-KeyVault", "Get-KeyVault", "Add-KeyVaultKey", "Get-KeyVaultKey", "Invoke-KeyVaultKeyOperation" })
                    if (!names.Contains(need)) return "registry lacks " + need;
                return null;
            });

            // ck_open failures: bad options give an envelope and no session.
            Check("ck_open rejects bad options", delegate
            {
                CkSessionHandle s;
                Reply r = Ck.Open("{not json", out s);
                if (s != null && !s.IsInvalid) { Ck.Close(s); return "returned a session for invalid JSON"; }
                return r.ExpectError(1, null, "InvalidArgument");
            });

            string store = Path.Combine(scratch, "store");
            CkSessionHandle session = null;
            Check("ck_open", delegate
            {
                Reply r = Ck.Open(Json.Write(new Dictionary<string, object> {
                    { "Store", store }, { "UserPrincipalName", Upn }, { "TimeShiftSeconds", 0L } }), out session);
                if (r.Status != 0) return "status " + r.Status + ": " + r.Text;
                if (session == null || session.IsInvalid) return "status 0 but NULL session";
                if (r.Text != null) Json.Parse(r.Text); // whatever it says must be JSON
                return null;
            });
            if (session == null || session.IsInvalid)
            {
                Fail("remaining checks", "no session");
                FinishFrees();
                return;
            }

            // Every operation in the registry is reachable and answers cleanly to empty arguments.
            Check("every operation answers", delegate
            {
                if (operations == null) return "no registry";
                var bad = new List<string>();
                foreach (Dictionary<string, object> op in operations)
                {
                    string name = Json.Str(op, "Name");
                    Reply r = Ck.Call(session, name, "{}");
                    if (r.Status != 0)
                    {
                        string why = r.ExpectError(-1, null, null);
                        if (why != null || r.Status >= 8) bad.Add(name + ": status " + r.Status + " " + (why ?? r.Text));
                    }
                    else if (r.Text != null) Json.Parse(r.Text);
                }
                return bad.Count == 0 ? null : string.Join("; ", bad.ToArray());
            });

            Check("unknown operation", delegate
            {
                return Ck.Call(session, "Frobnicate-KeyVault", "{}").ExpectError(1, null, "InvalidArgument");
            });
            Check("malformed arguments", delegate
            {
                return Ck.Call(session, "Get-KeyVault", "{\"VaultName\":").ExpectError(1, null, "InvalidArgument");
            });
            Check("unknown parameter", delegate
            {
                return Ck.Call(session, "Get-KeyVault", "{\"NoSuchParameter\":1}").ExpectError(1, null, "InvalidArgument");
            });
            Check("NULL session", delegate
            {
                // A handle that holds no session reaches the library as NULL.
                using (var none = new CkSessionHandle())
                    return Ck.Call(none, "Get-KeyVault", "{}").ExpectError(-1, null, null);
            });

            // UTF-8 both ways: a non-ASCII tag, and the non-ASCII UPN of ck_open in the access policy.
            Check("New-KeyVault with non-ASCII tag", delegate
            {
                Reply r = Ck.Call(session, "New-KeyVault", Json.Write(new Dictionary<string, object> {
                    { "VaultName", Vault }, { "Location", "westeurope" },
                    { "Tag", new Dictionary<string, object> { { "owner", TagValue }, { "Ünïcødé-kéy", "漢字" } } } }));
                if (r.Status != 0) return "status " + r.Status + ": " + r.Text;
                if (!Json.HasPair(r.Object(), "owner", TagValue)) return "tag not in the result: " + Shorten(r.Text);
                return null;
            });
            Check("UTF-8 tag round trip (Get-KeyVault)", delegate
            {
                Reply r = Ck.Call(session, "Get-KeyVault", Json.Write(new Dictionary<string, object> { { "VaultName", Vault } }));
                if (r.Status != 0) return "status " + r.Status + ": " + r.Text;
                object got = r.Value();
                if (!Json.HasPair(got, "owner", TagValue))
                    return "tag owner=" + TagValue + " not found in " + Shorten(r.Text);
                if (!Json.HasPair(got, "Ünïcødé-kéy", "漢字"))
                    return "non-ASCII tag name not found in " + Shorten(r.Text);
                return null;
            });
            Check("UTF-8 escaped input", delegate
            {
                // The same characters sent as JSON \u escapes (with a surrogate pair) come back as UTF-8.
                string escaped = "{\"VaultName\":\"" + Vault + "\",\"Name\":\"escaped\",\"Destination\":\"Software\"," +
                                 "\"Tag\":{\"owner\":\"Zo\\u00eb \\u6f22\\u5b57 \\ud83d\\udd11\"}}";
                Reply r = Ck.Call(session, "Add-KeyVaultKey", escaped);
                if (r.Status != 0) return "status " + r.Status + ": " + r.Text;
                if (!Json.HasPair(r.Value(), "owner", "Zoë 漢字 🔑")) return "tag not in " + Shorten(r.Text);
                return null;
            });
            Check("UTF-8 user principal name (access policy)", delegate
            {
                Reply r = Ck.Call(session, "Get-KeyVault", Json.Write(new Dictionary<string, object> { { "VaultName", Vault } }));
                if (r.Status != 0) return "status " + r.Status + ": " + r.Text;
                object policies = Json.Find(r.Value(), "AccessPolicies");
                if (policies == null) return "no AccessPolicies in " + Shorten(r.Text);
                if (!Json.ContainsString(policies, Upn)) return Upn + " not in AccessPolicies " + Json.Write(policies);
                if (r.Text.Contains("j\u00c3\u00bcrgen")) return "UPN double-encoded (mojibake) in " + Shorten(r.Text);
                return null;
            });

            // A SharePoint file: UTF-8 content encrypted through the key hierarchy and read back.
            Check("SharePoint file UTF-8 round trip (Add-/Get-SPOFile)", delegate
            {
                string site = "https://contoso.sharepoint.com/sites/mono";
                string text = "Zoë 漢字 🔑 budget";
                Reply r = Ck.Call(session, "New-SPOSite", Json.Write(new Dictionary<string, object> {
                    { "Url", site }, { "Title", "Mono" } }));
                if (r.Status != 0) return "New-SPOSite status " + r.Status + ": " + r.Text;
                r = Ck.Call(session, "Add-SPOFile", Json.Write(new Dictionary<string, object> {
                    { "Site", site }, { "Name", "budget.txt" }, { "Value", text } }));
                if (r.Status != 0) return "Add-SPOFile status " + r.Status + ": " + r.Text;
                r = Ck.Call(session, "Get-SPOFile", Json.Write(new Dictionary<string, object> {
                    { "Site", site }, { "Name", "budget.txt" } }));
                if (r.Status != 0) return "Get-SPOFile status " + r.Status + ": " + r.Text;
                if (!Json.HasPair(r.Value(), "Value", text)) return "content not in " + Shorten(r.Text);
                r = Ck.Call(session, "Update-SPODataEncryptionPolicy", Json.Write(new Dictionary<string, object> {
                    { "KeyType", "Primary" }, { "KeyVaultUri", "https://v1.vault.azure.net/keys/k1" } }));
                return r.ExpectError(1, null, "InvalidArgument");
            });

            // Error envelope.
            Check("error envelope (missing key)", delegate
            {
                Reply r = Ck.Call(session, "Get-KeyVaultKey", Json.Write(new Dictionary<string, object> {
                    { "VaultName", Vault }, { "Name", "no-such-key" } }));
                return r.ExpectError(2, "KeyNotFound", "ObjectNotFound");
            });
            Check("error envelope (missing vault)", delegate
            {
                Reply r = Ck.Call(session, "Get-KeyVault", Json.Write(new Dictionary<string, object> { { "VaultName", "no-such-vault" } }));
                return r.ExpectError(2, null, "ObjectNotFound");
            });

            // 5 MB arguments: a clean result or a clean error, never a crash or a panic.
            string big = new string('x', 5 * 1024 * 1024);
            Check("5 MB tag value", delegate
            {
                Reply r = Ck.Call(session, "New-KeyVault", Json.Write(new Dictionary<string, object> {
                    { "VaultName", "ck-big" }, { "Location", "westeurope" },
                    { "Tag", new Dictionary<string, object> { { "big", big } } } }));
                if (r.Status == 0)
                {
                    Reply g = Ck.Call(session, "Get-KeyVault", "{\"VaultName\":\"ck-big\"}");
                    if (g.Status != 0) return "accepted, but Get-KeyVault failed: " + Shorten(g.Text);
                    if (!Json.HasPair(g.Value(), "big", big)) return "accepted, but the 5 MB tag did not come back intact";
                    return null;
                }
                return r.ExpectError(-1, null, null);
            });
            Check("5 MB ByteArrayValue", delegate
            {
                byte[] bytes = new byte[5 * 1024 * 1024];
                new Random(7).NextBytes(bytes);
                Reply k = Ck.Call(session, "Add-KeyVaultKey", Json.Write(new Dictionary<string, object> {
                    { "VaultName", Vault }, { "Name", "big-input" }, { "Destination", "Software" } }));
                if (k.Status != 0) return "Add-KeyVaultKey: status " + k.Status + ": " + Shorten(k.Text);
                Reply r = Ck.Call(session, "Invoke-KeyVaultKeyOperation", Json.Write(new Dictionary<string, object> {
                    { "VaultName", Vault }, { "Name", "big-input" }, { "Operation", "Wrap" },
                    { "Algorithm", "RSA-OAEP-256" }, { "ByteArrayValue", Convert.ToBase64String(bytes) } }));
                if (r.Status == 0) return "wrapping 5 MB with RSA succeeded, expected an InvalidArgument error";
                return r.ExpectError(1, null, "InvalidArgument");
            });

            // Azure Information Protection: non-ASCII text protected and opened with the tenant key.
            Check("AIP protect and unprotect (UTF-8)", delegate
            {
                string protectedFile = Path.Combine(scratch, "aip-" + Guid.NewGuid().ToString("N") + ".ckaip");
                Reply p = Ck.Call(session, "Protect-AipContent", Json.Write(new Dictionary<string, object> {
                    { "Value", TagValue }, { "OutputFile", protectedFile } }));
                if (p.Status != 0) return "Protect-AipContent: status " + p.Status + ": " + Shorten(p.Text);
                string key = Json.Str(p.Object(), "KeyIdentifier");
                Reply u = Ck.Call(session, "Unprotect-AipContent", Json.Write(new Dictionary<string, object> {
                    { "InputFile", protectedFile } }));
                if (u.Status != 0) return "Unprotect-AipContent: status " + u.Status + ": " + Shorten(u.Text);
                if (Json.Str(u.Object(), "Value") != TagValue) return "text changed: " + Shorten(u.Text);
                if (Json.Str(u.Object(), "KeyIdentifier") != key) return "another key opened it: " + Shorten(u.Text);
                return null;
            });
            Check("AIP lifecycle and refusal envelope", delegate
            {
                Reply l = Ck.Call(session, "Get-AipServiceTenantKeyLifecycle", "{}");
                if (l.Status != 0) return "status " + l.Status + ": " + Shorten(l.Text);
                if (Json.Str(l.Object(), "Topology") != "Microsoft-managed") return "topology: " + Shorten(l.Text);
                Reply r = Ck.Call(session, "Set-AipServiceKeyProperties", Json.Write(new Dictionary<string, object> {
                    { "KeyIdentifier", "no-such-key" }, { "Active", false } }));
                return r.ExpectError(1, "BadParameter", "InvalidArgument");
            });

            // Exchange Online: an item with non-ASCII text sealed under a mailbox's content key and
            // read back; the policy checks' refusal envelope.
            Check("Exchange mailbox item round trip (UTF-8)", delegate
            {
                string alias = "m" + Guid.NewGuid().ToString("N").Substring(0, 12);
                Reply m = Ck.Call(session, "New-Mailbox", Json.Write(new Dictionary<string, object> {
                    { "Name", TagValue }, { "Alias", alias }, { "PrimarySmtpAddress", alias + "@contoso.com" } }));
                if (m.Status != 0) return "New-Mailbox: status " + m.Status + ": " + Shorten(m.Text);
                if (Json.Str(m.Object(), "Name") != TagValue) return "name changed: " + Shorten(m.Text);
                Reply a = Ck.Call(session, "Add-MailboxItem", Json.Write(new Dictionary<string, object> {
                    { "Identity", alias }, { "Subject", TagValue }, { "Body", "body " + TagValue } }));
                if (a.Status != 0) return "Add-MailboxItem: status " + a.Status + ": " + Shorten(a.Text);
                Reply g = Ck.Call(session, "Get-MailboxItem", Json.Write(new Dictionary<string, object> { { "Identity", alias + "@contoso.com" } }));
                if (g.Status != 0) return "Get-MailboxItem: status " + g.Status + ": " + Shorten(g.Text);
                var items = g.Value() as List<object>;
                if (items == null || items.Count != 1) return "expected one item: " + Shorten(g.Text);
                if (Json.Str(items[0] as Dictionary<string, object>, "Subject") != TagValue) return "subject changed: " + Shorten(g.Text);
                Reply st = Ck.Call(session, "Get-MailboxStatistics", Json.Write(new Dictionary<string, object> { { "Identity", alias } }));
                if (st.Status != 0) return "Get-MailboxStatistics: status " + st.Status + ": " + Shorten(st.Text);
                if (Json.Str(st.Object(), "EncryptionState") != "Unencrypted") return "state: " + Shorten(st.Text);
                return null;
            });
            Check("Exchange policy refusal envelope", delegate
            {
                Reply r = Ck.Call(session, "New-DataEncryptionPolicy", Json.Write(new Dictionary<string, object> {
                    { "Name", "one-key" }, { "AzureKeyIDs", new List<object> { "https://" + Vault + ".vault.azure.net/keys/k1" } } }));
                string why = r.ExpectError(1, "BadParameter", "InvalidArgument");
                if (why != null) return why;
                return Ck.Call(session, "Get-Mailbox", "{\"Identity\":\"nobody@contoso.com\"}").ExpectError(2, "MailboxNotFound", "ObjectNotFound");
            });

            // 8 threads on one session: add keys, wrap and unwrap.
            Check("8 threads on one session", delegate
            {
                var errors = new List<string>();
                var start = new ManualResetEvent(false);
                var workers = new List<Thread>();
                int ready = 0;
                for (int t = 0; t < Threads; t++)
                {
                    int id = t;
                    var th = new Thread(delegate ()
                    {
                        Interlocked.Increment(ref ready);
                        start.WaitOne();
                        try
                        {
                            string why = Worker(session, id);
                            if (why != null) lock (errors) errors.Add("thread " + id + ": " + why);
                        }
                        catch (Exception e)
                        {
                            lock (errors) errors.Add("thread " + id + ": " + e.Message);
                        }
                    });
                    workers.Add(th);
                    th.Start();
                }
                while (Volatile.Read(ref ready) < Threads) Thread.Sleep(1);
                start.Set();
                foreach (var th in workers)
                    if (!th.Join(TimeSpan.FromMinutes(5))) errors.Add("a thread did not finish in 5 minutes");
                if (errors.Count > 0) return string.Join("; ", errors.ToArray());
                // All keys are there afterwards.
                for (int t = 0; t < Threads; t++)
                    for (int i = 0; i < KeysPerThread; i++)
                    {
                        Reply g = Ck.Call(session, "Get-KeyVaultKey", Json.Write(new Dictionary<string, object> {
                            { "VaultName", Vault }, { "Name", "t" + t + "-k" + i } }));
                        if (g.Status != 0) return "t" + t + "-k" + i + " missing afterwards: " + Shorten(g.Text);
                    }
                return null;
            });

            // Disposing the handle closes the session: a later call with it is refused before it
            // reaches the library, and a second Dispose does nothing. ck_close(NULL) is a no-op.
            Check("disposed handle closes the session", delegate
            {
                CkSessionHandle closed = session;
                Ck.Close(closed);
                session = null;
                if (!closed.IsClosed) return "handle not closed after Dispose";
                closed.Dispose();
                Ck.CloseRaw(IntPtr.Zero);
                try
                {
                    Reply r = Ck.Call(closed, "Get-KeyVault", "{}");
                    return r.ExpectError(-1, null, null) == null ? null
                        : "a call with a disposed handle answered status " + r.Status + ": " + Shorten(r.Text);
                }
                catch (ObjectDisposedException)
                {
                    return null; // the marshaller refuses a closed SafeHandle
                }
            });

            // Reopen the same store: the vault persisted.
            Check("ck_close and reopen", delegate
            {
                CkSessionHandle again;
                Reply r = Ck.Open(Json.Write(new Dictionary<string, object> { { "Store", store }, { "UserPrincipalName", Upn } }), out again);
                if (r.Status != 0 || again == null || again.IsInvalid) return "reopen: status " + r.Status + ": " + r.Text;
                try
                {
                    Reply g = Ck.Call(again, "Get-KeyVault", Json.Write(new Dictionary<string, object> { { "VaultName", Vault } }));
                    if (g.Status != 0) return "vault gone after reopen: " + Shorten(g.Text);
                    if (!Json.HasPair(g.Value(), "owner", TagValue)) return "tag changed after reopen";
                }
                finally
                {
                    Ck.Close(again);
                }
                return null;
            });

            // NativeMethods.TakeString, the helper the module uses, frees what it reads.
            Check("TakeString helper", delegate
            {
                IntPtr json;
                int status = NativeMethods.ck_describe(out json);
                Ck.Called("ck_describe");
                if (status != 0 || json == IntPtr.Zero) return "ck_describe status " + status;
                Ck.Issued(json);
                Ck.Forget(json); // TakeString frees it itself
                string text = NativeMethods.TakeString(json);
                Ck.Called("ck_free_string");
                if (string.IsNullOrEmpty(text) || !text.Contains("Operations")) return "unexpected text";
                return NativeMethods.TakeString(IntPtr.Zero) == null ? null : "TakeString(Zero) != null";
            });

            FinishFrees();
        }

        static string Worker(CkSessionHandle session, int id)
        {
            var rng = new Random(id * 7919 + 1);
            for (int i = 0; i < KeysPerThread; i++)
            {
                string name = "t" + id + "-k" + i;
                Reply k = Ck.Call(session, "Add-KeyVaultKey", Json.Write(new Dictionary<string, object> {
                    { "VaultName", Vault }, { "Name", name }, { "Destination", "Software" },
                    { "Tag", new Dictionary<string, object> { { "thread", "fädén-" + id } } } }));
                if (k.Status != 0) return "Add-KeyVaultKey " + name + ": status " + k.Status + " " + Shorten(k.Text);
                if (!Json.HasPair(k.Value(), "thread", "fädén-" + id)) return name + ": tag lost in " + Shorten(k.Text);
                for (int w = 0; w < WrapsPerKey; w++)
                {
                    byte[] secret = new byte[32];
                    rng.NextBytes(secret);
                    string wrapped;
                    string why = Operation(session, name, "Wrap", Convert.ToBase64String(secret), out wrapped);
                    if (why != null) return why;
                    string unwrapped;
                    why = Operation(session, name, "Unwrap", wrapped, out unwrapped);
                    if (why != null) return why;
                    if (unwrapped != Convert.ToBase64String(secret)) return name + ": unwrap gave different bytes";
                }
            }
            return null;
        }

        static string Operation(CkSessionHandle session, string key, string op, string valueB64, out string result)
        {
            result = null;
            Reply r = Ck.Call(session, "Invoke-KeyVaultKeyOperation", Json.Write(new Dictionary<string, object> {
                { "VaultName", Vault }, { "Name", key }, { "Operation", op },
                { "Algorithm", "RSA-OAEP-256" }, { "ByteArrayValue", valueB64 } }));
            if (r.Status != 0) return op + " " + key + ": status " + r.Status + " " + Shorten(r.Text);
            var o = r.Value() as Dictionary<string, object>;
            result = o == null ? null : Json.Str(o, "RawResult"); // base64, as Az's RawResult bytes
            if (result == null) return op + " " + key + ": no RawResult in " + Shorten(r.Text);
            return null;
        }

        static void FinishFrees()
        {
            Check("every entry point called", delegate
            {
                var missing = new List<string>();
                foreach (MethodInfo m in typeof(NativeMethods).GetMethods(BindingFlags.Public | BindingFlags.Static))
                    if ((m.Attributes & MethodAttributes.PinvokeImpl) != 0 && !Ck.WasCalled(m.Name))
                        missing.Add(m.Name);
                return missing.Count == 0 ? null : "never called: " + string.Join(", ", missing.ToArray());
            });
            Check("every returned string freed exactly once", delegate
            {
                return Ck.FreeReport();
            });
        }

        // ---------------------------------------------------------------------------------------

        delegate string CheckBody();

        static void Check(string name, CheckBody body)
        {
            string why;
            try
            {
                why = body();
            }
            catch (Exception e)
            {
                why = e.GetType().Name + ": " + e.Message;
            }
            if (why == null) Pass(name); else Fail(name, why);
        }

        static void Pass(string name)
        {
            passed++;
            Console.WriteLine("PASS " + name);
        }

        static void Fail(string name, string why)
        {
            failed++;
            Console.WriteLine("FAIL " + name + ": " + why.Replace("\n", " "));
        }

        internal static string Shorten(string s)
        {
            if (s == null) return "(null)";
            return s.Length <= 300 ? s : s.Substring(0, 300) + "...(" + s.Length + " chars)";
        }
    }

    /// A status and the JSON text of the out parameter (already read and freed).
    public sealed class Reply
    {
        public int Status;
        public string Text;

        public object Value()
        {
            if (Text == null) throw new InvalidOperationException("no JSON returned");
            return Json.Parse(Text);
        }

        public Dictionary<string, object> Object()
        {
            var o = Value() as Dictionary<string, object>;
            if (o == null) throw new InvalidOperationException("not a JSON object: " + InteropDriver.Shorten(Text));
            return o;
        }

        /// Null when this is a well-formed error envelope with the expected status (-1: any
        /// non-zero), code and category (null: any); else why not.
        public string ExpectError(int status, string code, string category)
        {
            if (Status == 0) return "succeeded (status 0), expected an error: " + InteropDriver.Shorten(Text);
            if (status >= 0 && Status != status) return "status " + Status + ", expected " + status + ": " + InteropDriver.Shorten(Text);
            if (Status == 9) return "status 9 (Panic): " + InteropDriver.Shorten(Text);
            if (Text == null) return "status " + Status + " without an error envelope";
            var env = Value() as Dictionary<string, object>;
            var err = env == null ? null : Json.Get(env, "error") as Dictionary<string, object>;
            if (err == null) return "no \"error\" object in " + InteropDriver.Shorten(Text);
            foreach (var f in new[] { "code", "category", "message", "target" })
                if (!(Json.Get(err, f) is string)) return "error." + f + " missing or not a string in " + InteropDriver.Shorten(Text);
            if (Json.Str(err, "message").Length == 0) return "empty error.message";
            if (code != null && Json.Str(err, "code") != code) return "code " + Json.Str(err, "code") + ", expected " + code;
            if (category != null && Json.Str(err, "category") != category) return "category " + Json.Str(err, "category") + ", expected " + category;
            return null;
        }
    }

    /// Calls into NativeMethods, recording which entry points ran and every pointer handed out,
    /// so that the driver can prove each one was freed exactly once.
    public static class Ck
    {
        static readonly object Gate = new object();
        static readonly HashSet<string> CalledNames = new HashSet<string>();
        static readonly HashSet<long> Outstanding = new HashSet<long>();
        static readonly List<string> Problems = new List<string>();
        static long issued, freed;

        public static void Called(string name) { lock (Gate) CalledNames.Add(name); }
        public static bool WasCalled(string name) { lock (Gate) return CalledNames.Contains(name); }

        public static void Issued(IntPtr p)
        {
            lock (Gate)
            {
                issued++;
                if (!Outstanding.Add(p.ToInt64()))
                    Problems.Add("pointer 0x" + p.ToInt64().ToString("x") + " returned again before it was freed");
            }
        }

        public static void Forget(IntPtr p)
        {
            lock (Gate)
            {
                if (Outstanding.Remove(p.ToInt64())) freed++;
                else Problems.Add("freeing 0x" + p.ToInt64().ToString("x") + ", which is not outstanding");
            }
        }

        static string Take(IntPtr p)
        {
            if (p == IntPtr.Zero) return null;
            string s = NativeMethods.PtrToUtf8(p);
            Forget(p);
            NativeMethods.ck_free_string(p);
            Called("ck_free_string");
            return s;
        }

        public static string FreeReport()
        {
            lock (Gate)
            {
                var why = new List<string>(Problems);
                if (Outstanding.Count > 0) why.Add(Outstanding.Count + " returned string(s) never freed");
                if (issued != freed) why.Add(issued + " returned, " + freed + " freed");
                if (issued == 0) why.Add("no string was returned at all");
                return why.Count == 0 ? null : string.Join("; ", why.ToArray()) + " (" + issued + " returned)";
            }
        }

        public static IntPtr Version()
        {
            IntPtr v = NativeMethods.ck_version();
            Called("ck_version");
            return v;
        }

        public static Reply Describe()
        {
            IntPtr json;
            int status = NativeMethods.ck_describe(out json);
            Called("ck_describe");
            if (json != IntPtr.Zero) Issued(json);
            return new Reply { Status = status, Text = Take(json) };
        }

        public static Reply Open(string options, out CkSessionHandle session)
        {
            IntPtr json;
            int status = NativeMethods.ck_open(options, out session, out json);
            Called("ck_open");
            if (json != IntPtr.Zero) Issued(json);
            return new Reply { Status = status, Text = Take(json) };
        }

        public static Reply Call(CkSessionHandle session, string operation, string arguments)
        {
            IntPtr json;
            int status = NativeMethods.ck_call(session, operation, arguments, out json);
            Called("ck_call");
            if (json != IntPtr.Zero) Issued(json);
            return new Reply { Status = status, Text = Take(json) };
        }

        /// Disposing the handle is how a session is closed: its ReleaseHandle calls ck_close.
        public static void Close(CkSessionHandle session)
        {
            session.Dispose();
            Called("ck_close");
        }

        public static void CloseRaw(IntPtr session)
        {
            NativeMethods.ck_close(session);
            Called("ck_close");
        }
    }

    /// Just enough JSON: objects (Dictionary), arrays (List), strings, numbers (long or double),
    /// booleans and null.
    public static class Json
    {
        public static object Get(Dictionary<string, object> o, string key)
        {
            object v;
            return o != null && o.TryGetValue(key, out v) ? v : null;
        }

        public static string Str(Dictionary<string, object> o, string key)
        {
            return Get(o, key) as string;
        }

        /// True when some object anywhere in v has key -> value.
        public static bool HasPair(object v, string key, string value)
        {
            var o = v as Dictionary<string, object>;
            if (o != null)
            {
                object x;
                if (o.TryGetValue(key, out x) && x as string == value) return true;
                foreach (var child in o.Values) if (HasPair(child, key, value)) return true;
            }
            var a = v as List<object>;
            if (a != null) foreach (var child in a) if (HasPair(child, key, value)) return true;
            return false;
        }

        /// The value of the first property named key anywhere in v, or null.
        public static object Find(object v, string key)
        {
            var o = v as Dictionary<string, object>;
            if (o != null)
            {
                object x;
                if (o.TryGetValue(key, out x)) return x;
                foreach (var child in o.Values) { x = Find(child, key); if (x != null) return x; }
            }
            var a = v as List<object>;
            if (a != null) foreach (var child in a) { object x = Find(child, key); if (x != null) return x; }
            return null;
        }

        /// True when some string anywhere in v (keys included) contains s.
        public static bool ContainsString(object v, string s)
        {
            var str = v as string;
            if (str != null) return str.Contains(s);
            var o = v as Dictionary<string, object>;
            if (o != null)
                foreach (var kv in o)
                    if (kv.Key.Contains(s) || ContainsString(kv.Value, s)) return true;
            var a = v as List<object>;
            if (a != null) foreach (var child in a) if (ContainsString(child, s)) return true;
            return false;
        }

        public static string Write(object v)
        {
            var sb = new StringBuilder();
            Write(sb, v);
            return sb.ToString();
        }

        static void Write(StringBuilder sb, object v)
        {
            if (v == null) { sb.Append("null"); return; }
            if (v is bool) { sb.Append((bool)v ? "true" : "false"); return; }
            if (v is long || v is int) { sb.Append(Convert.ToInt64(v).ToString(CultureInfo.InvariantCulture)); return; }
            if (v is double) { sb.Append(((double)v).ToString("R", CultureInfo.InvariantCulture)); return; }
            var s = v as string;
            if (s != null)
            {
                sb.Append('"');
                foreach (char c in s)
                {
                    switch (c)
                    {
                        case '"': sb.Append("\\\""); break;
                        case '\\': sb.Append("\\\\"); break;
                        case '\n': sb.Append("\\n"); break;
                        case '\r': sb.Append("\\r"); break;
                        case '\t': sb.Append("\\t"); break;
                        default:
                            if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4"));
                            else sb.Append(c);
                            break;
                    }
                }
                sb.Append('"');
                return;
            }
            var d = v as Dictionary<string, object>;
            if (d != null)
            {
                sb.Append('{');
                bool first = true;
                foreach (var kv in d)
                {
                    if (!first) sb.Append(',');
                    first = false;
                    Write(sb, kv.Key);
                    sb.Append(':');
                    Write(sb, kv.Value);
                }
                sb.Append('}');
                return;
            }
            var l = v as List<object>;
            if (l != null)
            {
                sb.Append('[');
                for (int i = 0; i < l.Count; i++)
                {
                    if (i > 0) sb.Append(',');
                    Write(sb, l[i]);
                }
                sb.Append(']');
                return;
            }
            throw new ArgumentException("cannot write " + v.GetType());
        }

        public static object Parse(string text)
        {
            int i = 0;
            object v = Value(text, ref i);
            Ws(text, ref i);
            if (i != text.Length) throw new FormatException("JSON: trailing text at " + i);
            return v;
        }

        static void Ws(string t, ref int i)
        {
            while (i < t.Length && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')) i++;
        }

        static object Value(string t, ref int i)
        {
            Ws(t, ref i);
            if (i >= t.Length) throw new FormatException("JSON: unexpected end");
            char c = t[i];
            if (c == '{')
            {
                var o = new Dictionary<string, object>();
                i++;
                Ws(t, ref i);
                if (i < t.Length && t[i] == '}') { i++; return o; }
                while (true)
                {
                    Ws(t, ref i);
                    if (i >= t.Length || t[i] != '"') throw new FormatException("JSON: expected a key at " + i);
                    string key = String(t, ref i);
                    Ws(t, ref i);
                    Expect(t, ref i, ':');
                    o[key] = Value(t, ref i);
                    Ws(t, ref i);
                    if (i < t.Length && t[i] == ',') { i++; continue; }
                    Expect(t, ref i, '}');
                    return o;
                }
            }
            if (c == '[')
            {
                var a = new List<object>();
                i++;
                Ws(t, ref i);
                if (i < t.Length && t[i] == ']') { i++; return a; }
                while (true)
                {
                    a.Add(Value(t, ref i));
                    Ws(t, ref i);
                    if (i < t.Length && t[i] == ',') { i++; continue; }
                    Expect(t, ref i, ']');
                    return a;
                }
            }
            if (c == '"') return String(t, ref i);
            if (Word(t, ref i, "true")) return true;
            if (Word(t, ref i, "false")) return false;
            if (Word(t, ref i, "null")) return null;
            int start = i;
            while (i < t.Length && "+-0123456789.eE".IndexOf(t[i]) >= 0) i++;
            if (i == start) throw new FormatException("JSON: unexpected '" + c + "' at " + i);
            string num = t.Substring(start, i - start);
            long n;
            if (long.TryParse(num, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out n)) return n;
            return double.Parse(num, NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        static bool Word(string t, ref int i, string w)
        {
            if (string.CompareOrdinal(t, i, w, 0, w.Length) != 0) return false;
            i += w.Length;
            return true;
        }

        static void Expect(string t, ref int i, char c)
        {
            if (i >= t.Length || t[i] != c) throw new FormatException("JSON: expected '" + c + "' at " + i);
            i++;
        }

        static string String(string t, ref int i)
        {
            Expect(t, ref i, '"');
            var sb = new StringBuilder();
            while (true)
            {
                if (i >= t.Length) throw new FormatException("JSON: unterminated string");
                char c = t[i++];
                if (c == '"') return sb.ToString();
                if (c != '\\') { sb.Append(c); continue; }
                if (i >= t.Length) throw new FormatException("JSON: bad escape");
                char e = t[i++];
                switch (e)
                {
                    case '"': sb.Append('"'); break;
                    case '\\': sb.Append('\\'); break;
                    case '/': sb.Append('/'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        if (i + 4 > t.Length) throw new FormatException("JSON: bad \\u escape");
                        sb.Append((char)int.Parse(t.Substring(i, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                        i += 4;
                        break;
                    default: throw new FormatException("JSON: bad escape \\" + e);
                }
            }
        }
    }
}
