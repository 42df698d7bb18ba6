// P/Invoke declarations for libcustomer_key, and the resolver that points them at the library the
// module found. Nothing else lives here: the module compiles this file with Add-Type.
//
// Ownership: strings go in as UTF-8 (LPUTF8Str) and stay owned by the caller. Every char* the
// library returns through an out parameter is owned by the caller and must be released exactly
// once with ck_free_string. ck_version returns a static string that must not be freed.
//
// The session is a CkSessionHandle: a SafeHandle, so ck_close runs exactly once (Dispose, or the
// finalizer when nobody disposed it), never while a ck_call on another thread still uses the
// session, and a disposed handle is refused by the marshaller instead of reaching the library.
using System;
using System.Management.Automation;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace CustomerKey.Native
{
    /// The session ck_open returns; disposing it closes the session.
    public sealed class CkSessionHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        /// For the marshaller, which creates the handle ck_open fills in (and tests: an
        /// invalid, zero handle).
        public CkSessionHandle() : base(true)
        {
        }

        protected override bool ReleaseHandle()
        {
            NativeMethods.ck_close(handle);
            return true;
        }
    }

    /// ObjectNotFound errors are ItemNotFoundException, so `catch [ItemNotFoundException]` works as
    /// with the providers' errors. That type carries an ErrorRecord of its own, which PowerShell
    /// shows in a typed catch; this one gives back the engine's (code, category, target) instead.
    public sealed class CkItemNotFoundException : ItemNotFoundException
    {
        private ErrorRecord attached;

        public CkItemNotFoundException(string message) : base(message)
        {
        }

        public void Attach(ErrorRecord record)
        {
            attached = record;
        }

        public override ErrorRecord ErrorRecord
        {
            get { return attached ?? base.ErrorRecord; }
        }
    }

    public static class NativeMethods
    {
        public const string Library = "customer_key";

        private static IntPtr libraryHandle = IntPtr.Zero;
        private static bool resolverSet;
        private static readonly object resolverLock = new object();

        /// Makes every DllImport of this class bind to the library already loaded at `handle`
        /// (the module loads it by full path). The resolver is plain C#, not a script block,
        /// because the runtime may run it on a thread that has no PowerShell runspace. A resolver
        /// can be set once per assembly; a later call (Import-Module -Force) only swaps the handle
        /// for functions not bound yet.
        public static void UseLibrary(IntPtr handle)
        {
            lock (resolverLock)
            {
                libraryHandle = handle;
                if (resolverSet)
                {
                    return;
                }
                NativeLibrary.SetDllImportResolver(typeof(NativeMethods).Assembly, (name, assembly, searchPath) =>
                    name == Library ? libraryHandle : IntPtr.Zero);
                resolverSet = true;
            }
        }

        [DllImport(Library, EntryPoint = "ck_open", CallingConvention = CallingConvention.Cdecl)]
        public static extern int ck_open(
            [MarshalAs(UnmanagedType.LPUTF8Str)] string optionsJson,
            out CkSessionHandle session,
            out IntPtr json);

        [DllImport(Library, EntryPoint = "ck_call", CallingConvention = CallingConvention.Cdecl)]
        public static extern int ck_call(
            CkSessionHandle session,
            [MarshalAs(UnmanagedType.LPUTF8Str)] string operation,
            [MarshalAs(UnmanagedType.LPUTF8Str)] string argumentsJson,
            out IntPtr json);

        [DllImport(Library, EntryPoint = "ck_describe", CallingConvention = CallingConvention.Cdecl)]
        public static extern int ck_describe(out IntPtr json);

        [DllImport(Library, EntryPoint = "ck_free_string", CallingConvention = CallingConvention.Cdecl)]
        public static extern void ck_free_string(IntPtr s);

        // CkSessionHandle calls this; anything else would close a session a handle still owns.
        [DllImport(Library, EntryPoint = "ck_close", CallingConvention = CallingConvention.Cdecl)]
        public static extern void ck_close(IntPtr session);

        [DllImport(Library, EntryPoint = "ck_version", CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr ck_version();

        /// Reads a UTF-8 string the library returned and frees it; IntPtr.Zero gives null.
        public static string TakeString(IntPtr s)
        {
            if (s == IntPtr.Zero)
            {
                return null;
            }
            try
            {
                return PtrToUtf8(s);
            }
            finally
            {
                ck_free_string(s);
            }
        }

        /// Reads a UTF-8 string the library owns (ck_version) without freeing it.
        public static string PtrToUtf8(IntPtr s)
        {
            if (s == IntPtr.Zero)
            {
                return null;
            }
            return Marshal.PtrToStringUTF8(s);
        }
    }
}
