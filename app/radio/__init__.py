"""The radio's shared buffer (`buffer`), its MP3 framing (`mp3`) and a listener's paced reader
(`listener`): what the gpu worker writes and the web app serves. Torch-free."""
